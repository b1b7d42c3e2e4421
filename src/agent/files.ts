// The agent's files, all beside its socket: the PID file, the log, and the
// lock a lookup holds while an agent it started comes up.

import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { dirProblem } from '../util/trusted-files.js'

export const agentFiles = (socketPath: string) => ({
  pid: `${socketPath}.pid`,
  log: `${socketPath}.log`,
  starting: `${socketPath}.starting`,
  binding: `${socketPath}.binding`,
})

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** The PID in the agent's PID file, if that process is an efs-home agent (not a recycled PID). */
export function agentPid(socketPath: string): number | undefined {
  const pid = readPid(agentFiles(socketPath).pid)
  if (pid === undefined) return undefined
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    return argv.includes('agent') && argv.includes('run') ? pid : undefined
  } catch {
    return undefined
  }
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
