// How every command ends, in one place (the README's "Exit status" table):
//   0  done, or the answer is yes
//   1  the answer is no: a map would change, rules drifted, a check failed,
//      no entry for the user, a proxy is down
//   2  the command could not do its work; its one line on stderr says why,
//      and nothing was changed unless the line says what was
// Two contracts others rely on keep their own: efs-home-map answers automount
// (0 an entry, 1 anything else), and rollout render --detailed-exitcodes
// answers like puppet (0 nothing changed, 2 changed, 4 failed).

import { EfsHomeError, type ErrorCode, oneLine } from '../errors.js'
import type { Output } from './output.js'

export const EXIT = { ok: 0, no: 1, failed: 2, detailedFailed: 4 } as const

/** The code scripts see for an error: its own, or INTERNAL for one efs-home did not expect. */
export function errorCodeOf(err: unknown): ErrorCode {
  return err instanceof EfsHomeError ? err.code : 'INTERNAL'
}

export interface Guard {
  /** Said after the message: what the failure left as it was. */
  readonly after?: (err: unknown) => string
  /** The status for a failure, where a contract asks for another than 2. */
  readonly failed?: number
}

/** Runs a command: its status, or for anything it throws one line `prefix: message` on stderr and the failure status. */
export async function runGuarded(prefix: string, out: Output, work: () => Promise<number> | number, guard: Guard = {}): Promise<number> {
  try {
    return await work()
  } catch (err) {
    out.err(`${prefix}: ${oneLine(err)}${guard.after?.(err) ?? ''}`)
    return guard.failed ?? EXIT.failed
  }
}
