// What changed between two versions of a file, line by line, for --diff and drift reports.

/** Lines only in `before` (prefixed -) and only in `after` (prefixed +), in order. */
export function diffLines(before: readonly string[], after: readonly string[]): string[] {
  const inAfter = new Set(after)
  const inBefore = new Set(before)
  return [...before.filter((l) => !inAfter.has(l)).map((l) => `-${l}`), ...after.filter((l) => !inBefore.has(l)).map((l) => `+${l}`)]
}
