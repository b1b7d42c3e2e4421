// The agent's files, all beside its socket: the PID file, the log, and the
// lock a lookup holds while an agent it started comes up.

import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { isIdentity, isLiveRootProcess, type ProcessIdentity } from '../util/process-identity.js'
import { dirProblem } from '../util/trusted-files.js'

export const agentFiles = (socketPath: string) => ({
  pid: `${socketPath}.pid`,
  log: `${socketPath}.log`,
  starting: `${socketPath}.starting`,
  binding: `${socketPath}.binding`,
})

/** The PID file's content: `PID START_TIME`, the agent's identity (src/util/process-identity.ts). */
export function pidFileText(me: ProcessIdentity): string {
  return `${me.pid} ${me.startTime}\n`
}

/** The identity an agent's PID file records, whoever it names now. */
export function readPidFile(file: string): ProcessIdentity | undefined {
  try {
    const [pid, startTime] = readFileSync(file, 'utf8').trim().split(' ')
    const id = { pid: Number(pid), startTime }
    return isIdentity(id) ? id : undefined
  } catch {
    return undefined
  }
}

/** The agent's PID, while the process its PID file names is alive, root's and the same one (not a recycled PID). */
export function agentPid(socketPath: string): number | undefined {
  const id = readPidFile(agentFiles(socketPath).pid)
  return isLiveRootProcess(id) ? id?.pid : undefined
}

/**
 * Why the socket's directory cannot be trusted, if it cannot: whoever may
 * create files there could put a socket of their own in place and answer
 * lookups with mount entries of their choosing.
 */
export function unsafeSocketDir(socketPath: string): string | undefined {
  // Not there yet is fine: whoever starts the agent creates it, theirs.
  return dirProblem(dirname(socketPath))
}
