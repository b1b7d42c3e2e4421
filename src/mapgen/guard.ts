// A regenerated file must not silently lose most of what it held: an LDAP
// base that moved or a truncated enumeration would otherwise empty every
// host's /import on the next run.

import { EfsHomeError } from '../errors.js'

/** Throws GUARD when more than `maxDropPercent` of `before` is missing from `after`. */
export function checkDrop(what: string, before: readonly string[], after: readonly string[], maxDropPercent: number): void {
  if (before.length === 0) return
  const kept = new Set(after)
  const dropped = before.filter((item) => !kept.has(item)).length
  const percent = (100 * dropped) / before.length
  if (percent > maxDropPercent) {
    throw new EfsHomeError(
      'GUARD',
      `refused: ${what} would lose ${dropped} of its ${before.length} entries (${percent.toFixed(0)}%, more than --max-drop ${maxDropPercent}%); check the source and LDAP, or run again with --force`,
    )
  }
}
