// A proxy's life as a process: run in the foreground until a signal,
// supervised (restarted when it dies; one supervisor per file system), and
// stopped, supervisor first.

import { rmSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Config } from '../config/load.js'
import { Deadline } from '../util/deadline.js'
import { isLiveRootProcess, type ProcessIdentity } from '../util/process-identity.js'
import { assignPort } from './ports.js'
import { readState, statePath } from './state.js'
import { claimSupervision, liveSupervisor, removeSupervisorRecord, type StartFailure, writeSupervisorRecord } from './supervision.js'
import { efsServerById, proxyTarget } from './target.js'
import type { ServiceLog } from '../util/service-log.js'

// How long the proxy may take at start to find its mount target (DNS, or the EFS API).
const RESOLVE_SECONDS = 30

export async function runProxy(config: Config, fsId: string, log: ServiceLog): Promise<void> {
  // Loaded here: the supervisor and `stop` need none of it.
  const [{ resolveEfsHost }, { runTunnel }] = await Promise.all([import('../efs/host.js'), import('./tunnel.js')])
  const server = efsServerById(config, fsId)
  const resolved = await resolveEfsHost(config, server, new Deadline(RESOLVE_SECONDS))
  const port = await assignPort(config, fsId, 10_000)
  const tunnel = await runTunnel(config, proxyTarget(config, server), resolved.host, port, log)
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  await tunnel.close()
  rmSync(statePath(config, fsId), { force: true })
  log('stopped')
}

/** Runs `fsId`'s proxy and starts it again whenever it dies, unless another supervisor already does. */
export async function superviseProxy(config: Config, fsId: string, log: ServiceLog): Promise<void> {
  const claim = await claimSupervision(config, fsId)
  if (!claim.claimed) {
    log(`PID ${claim.holder.pid} already supervises the proxy for ${fsId}; exiting`)
    return
  }
  const { PROXY_NODE_FLAGS, supervise } = await import('./supervisor.js')
  const supervisor = claim.holder
  // This run of failed starts, kept here and written for lookups, status and doctor to read.
  let failing: StartFailure | undefined
  const end = await supervise({
    command: process.execPath,
    // The proxy runs from the same entry point as this supervisor.
    args: [...PROXY_NODE_FLAGS, process.argv[1] ?? 'efs-home', 'proxy', 'run', '--fs', fsId],
    log,
    giveUpAfter: config.proxy.start_attempts,
    onStartFailure: (cause, attempts) => {
      failing = { cause, since: failing?.since ?? Math.floor(Date.now() / 1000), attempts }
      writeSupervisorRecord(config, { fsId, supervisor, failing })
    },
    onSteady: () => {
      failing = undefined
      writeSupervisorRecord(config, { fsId, supervisor })
    },
  })
  if (end === 'gave up') {
    writeSupervisorRecord(config, { fsId, supervisor, ...(failing === undefined ? {} : { failing }), gaveUp: true })
  } else {
    removeSupervisorRecord(config, fsId)
  }
}

/** Stops the supervisor (so it does not start the proxy again), then the proxy; the PID of the proxy stopped, if one ran. */
export async function stopProxy(config: Config, fsId: string): Promise<number | undefined> {
  const state = readState(config, fsId)
  const proxy = state === undefined ? undefined : { pid: state.pid, startTime: state.startTime }
  const running = [liveSupervisor(config, fsId)?.supervisor, proxy].filter((id): id is ProcessIdentity => isLiveRootProcess(id))
  for (const id of running) process.kill(id.pid, 'SIGTERM')
  for (let i = 0; i < 100 && running.some((id) => isLiveRootProcess(id)); i++) await sleep(50)
  rmSync(statePath(config, fsId), { force: true })
  removeSupervisorRecord(config, fsId)
  return state?.pid
}
