// Who supervises a file system's proxy, and how its last start went:
// [proxy] state_dir/proxy-<fs_id>.supervisor.json, written by the
// supervisor. One supervisor per file system: a second one started by a
// racing lookup sees the first and exits. A proxy that fails as it starts
// leaves its cause here, so lookups fail at once with it, and `proxy
// status` and `doctor` show it.

import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config/load.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { withLock } from '../util/lock.js'
import { checkTrustedDir, makeTrustedDir, readTrustedFile } from '../util/trusted-files.js'
import { isIdentity, isLiveRootProcess, ownIdentity, type ProcessIdentity } from '../util/process-identity.js'

export interface StartFailure {
  /** The proxy's own one-line reason. */
  readonly cause: string
  /** Seconds since the epoch of the first failure in this run of failures. */
  readonly since: number
  readonly attempts: number
}

export interface SupervisorRecord {
  readonly fsId: string
  readonly supervisor: ProcessIdentity
  /** Set while the proxy keeps failing as it starts. */
  readonly failing?: StartFailure
  /** The supervisor stopped retrying: the proxy never came up. */
  readonly gaveUp?: boolean
}

function recordPath(config: Config, fsId: string): string {
  return join(config.proxy.state_dir, `proxy-${fsId}.supervisor.json`)
}

export function readSupervisorRecord(config: Config, fsId: string): SupervisorRecord | undefined {
  try {
    checkTrustedDir(config.proxy.state_dir, '[proxy] state_dir')
    const record = JSON.parse(readTrustedFile(recordPath(config, fsId))?.toString('utf8') ?? 'null') as SupervisorRecord
    return record.fsId === fsId && isIdentity(record.supervisor) ? record : undefined
  } catch {
    return undefined
  }
}

/** The record of a supervisor that is running now (alive, root's, the same process). */
export function liveSupervisor(config: Config, fsId: string): SupervisorRecord | undefined {
  const record = readSupervisorRecord(config, fsId)
  return record !== undefined && isLiveRootProcess(record.supervisor) ? record : undefined
}

export function writeSupervisorRecord(config: Config, record: SupervisorRecord): void {
  writeFileAtomic(recordPath(config, record.fsId), `${JSON.stringify(record)}\n`)
}

export function removeSupervisorRecord(config: Config, fsId: string): void {
  rmSync(recordPath(config, fsId), { force: true })
}

/** Makes this process the file system's supervisor; the one already running when there is one. */
export async function claimSupervision(
  config: Config,
  fsId: string,
): Promise<{ readonly claimed: boolean; readonly holder: ProcessIdentity }> {
  const me = ownIdentity()
  makeTrustedDir(config.proxy.state_dir, '[proxy] state_dir')
  return withLock(`${recordPath(config, fsId)}.lock`, 5000, () => {
    const live = liveSupervisor(config, fsId)
    if (live !== undefined && live.supervisor.pid !== me.pid) return { claimed: false, holder: live.supervisor }
    writeSupervisorRecord(config, { fsId, supervisor: me })
    return { claimed: true, holder: me }
  })
}

/** Why a file system's proxy does not start, from its supervisor's record (one read), if it says. */
export function startProblem(config: Config, fsId: string): string | undefined {
  const record = readSupervisorRecord(config, fsId)
  if (record?.failing === undefined) return undefined
  const { cause, since, attempts } = record.failing
  const when = new Date(since * 1000).toISOString()
  return record.gaveUp === true || !isLiveRootProcess(record.supervisor)
    ? `failed to start ${attempts} times since ${when}, then given up: ${cause}`
    : `failing to start since ${when} (${attempts} attempts, still retrying): ${cause}`
}
