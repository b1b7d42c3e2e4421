// The proxy for a file system, up and verified, or a typed error: called
// in-process by the program map and efs-map-gen, and by `efs-home proxy
// ensure`. Race-free: many lookups at once start one proxy (a lock
// directory decides who starts it; the others wait for it to be healthy),
// and a supervisor already running is never joined by a second. A cause
// known before or during the start (the CA file, a proxy that fails as it
// starts) fails the lookup at once, with that cause.

import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Config } from '../config/load.js'
import { EfsHomeError } from '../errors.js'
import type { EfsServer } from '../servers/classify.js'
import type { Deadline } from '../util/deadline.js'
import { tryLock, unlock } from '../util/lock.js'
import { packageFile } from '../util/package-files.js'
import { spawnDetached } from '../util/spawn-detached.js'
import { makeTrustedDir } from '../util/trusted-files.js'
import { ageSeconds } from '../util/process-identity.js'
import { readEfsCa } from './ca.js'
import { bindableByAnyone } from '../util/privileged-port.js'
import { assignPort } from './ports.js'
import { proxyHealth } from './state.js'
import { liveSupervisor } from './supervision.js'
import { proxyTarget } from './target.js'

const MAX_POLL_MS = 100

function proxyLogPath(config: Config, fsId: string): string {
  return join(config.proxy.state_dir, `proxy-${fsId}.log`)
}

function startSupervisor(config: Config, fsId: string): void {
  spawnDetached(
    [process.execPath, packageFile('dist', 'src', 'bin', 'efs-home.js'), 'proxy', 'supervise', '--fs', fsId],
    proxyLogPath(config, fsId),
    {
      ...process.env,
      EFS_HOME_CONFIG: config.file,
    },
  )
}

/** A supervisor whose proxy keeps failing as it starts: its cause, as an error for the lookup. */
function failingStart(config: Config, fsId: string): EfsHomeError | undefined {
  const failing = liveSupervisor(config, fsId)?.failing
  if (failing === undefined) return undefined
  return new EfsHomeError(
    'PROXY',
    `the TLS proxy for ${fsId} cannot start: ${failing.cause} (${failing.attempts} attempt(s); see ${proxyLogPath(config, fsId)})`,
  )
}

/** The local port of `server`'s TLS proxy, started if need be, within `deadline`. */
export async function ensureProxy(config: Config, server: EfsServer, deadline: Deadline): Promise<number> {
  const { fsId } = proxyTarget(config, server)
  const port = await assignPort(config, fsId, deadline.remainingMs())
  const open = bindableByAnyone(port)
  if (open !== undefined) throw new EfsHomeError('PROXY', `the TLS proxy for ${fsId} cannot be trusted: ${open}`)
  let health = proxyHealth(config, fsId, port)
  if (health.ok) return port
  if (health.squatted) throw new EfsHomeError('PROXY', `the TLS proxy for ${fsId}: ${health.why}`)
  // A proxy that cannot verify EFS would only die at every start: say why now.
  readEfsCa(config)
  makeTrustedDir(config.proxy.state_dir, '[proxy] state_dir')
  const lock = join(config.proxy.state_dir, `proxy-${fsId}.starting`)
  let started = false
  // Polls back off: in a login storm fifty waiters must not starve the proxy they wait for of CPU.
  let pollMs = 20
  try {
    while (deadline.remainingMs() > 0) {
      const failed = failingStart(config, fsId)
      if (failed !== undefined) throw failed
      if (!started && liveSupervisor(config, fsId) === undefined && tryLock(lock, 15_000)) {
        started = true
        health = proxyHealth(config, fsId, port)
        if (health.ok) return port
        startSupervisor(config, fsId)
      }
      await sleep(Math.min(pollMs, deadline.remainingMs()))
      pollMs = Math.min(pollMs * 1.5, MAX_POLL_MS)
      health = proxyHealth(config, fsId, port)
      if (health.ok) return port
      if (health.squatted) throw new EfsHomeError('PROXY', `the TLS proxy for ${fsId}: ${health.why}`)
    }
  } finally {
    if (started) unlock(lock)
  }
  throw failingStart(config, fsId) ?? outOfTime(config, fsId, port, health.why, deadline)
}

/** The deadline ran out before the proxy was up: a start under way is said as such, with how long it has taken so far. */
function outOfTime(config: Config, fsId: string, port: number, why: string, deadline: Deadline): EfsHomeError {
  const supervisor = liveSupervisor(config, fsId)?.supervisor
  const ranOut = `the deadline of ${deadline.seconds} s ran out; see ${proxyLogPath(config, fsId)}`
  return new EfsHomeError(
    'DEADLINE',
    supervisor === undefined
      ? `the TLS proxy for ${fsId} on port ${port} is not up: ${why}; ${ranOut}`
      : `the TLS proxy for ${fsId} is still starting (${ageSeconds(supervisor)} s so far); ${ranOut}`,
  )
}
