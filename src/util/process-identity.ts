// A process named by PID and by when the kernel started it: a PID alone is
// recycled, and words in argv can be forged by anyone. A recorded identity
// is trusted only while a root-owned process with that PID and that start
// time is alive.

import { readFileSync } from 'node:fs'

export interface ProcessIdentity {
  readonly pid: number
  /** Field 22 of /proc/PID/stat: clock ticks after boot; unique with the PID. */
  readonly startTime: string
}

/** Start time and owner of a live process, from /proc. */
function procFacts(pid: number): { startTime: string; uids: string[] } | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const startTime = fields[19]
    const uids = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.split(/\s+/) ?? []
    return startTime === undefined ? undefined : { startTime, uids }
  } catch {
    return undefined
  }
}

export function identityOf(pid: number): ProcessIdentity | undefined {
  const facts = procFacts(pid)
  return facts === undefined ? undefined : { pid, startTime: facts.startTime }
}

export function ownIdentity(): ProcessIdentity {
  const me = identityOf(process.pid)
  /* c8 ignore next -- only without /proc, where nothing of efs-home runs */
  if (me === undefined) throw new Error('cannot read /proc/self/stat')
  return me
}

/** Is the process `id` names still alive, the same process, and root's (real, effective, saved and fs uid)? */
export function isLiveRootProcess(id: ProcessIdentity | undefined): boolean {
  if (id === undefined) return false
  const facts = procFacts(id.pid)
  return facts !== undefined && facts.startTime === id.startTime && facts.uids.length > 0 && facts.uids.every((u) => u === '0')
}

/** How long ago the process `id` names started, in whole seconds (clock ticks are 1/100 s on Linux). */
export function ageSeconds(id: ProcessIdentity): number {
  const uptime = Number.parseFloat(readFileSync('/proc/uptime', 'utf8'))
  return Math.max(0, Math.round(uptime - Number(id.startTime) / 100))
}

export function isIdentity(value: unknown): value is ProcessIdentity {
  const v = value as Partial<ProcessIdentity> | null
  return typeof v === 'object' && v !== null && Number.isInteger(v.pid) && typeof v.startTime === 'string' && /^\d+$/.test(v.startTime)
}
