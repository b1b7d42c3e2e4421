// NFS mount option lists (`vers=4,hard,...`): parsed strictly, because they
// end up verbatim in an autofs map entry where a comma or space would change
// the meaning of the whole line.

export type MountOption = readonly [key: string, value: string | undefined]

export class MountOptionError extends Error {
  override name = 'MountOptionError'
}

const KEY_RE = /^[a-z][a-z0-9_]*$/
const VALUE_RE = /^[A-Za-z0-9_.:/@+-]+$/

// Keys that answer the same question: a site that gave one has decided it,
// so a default for any of the others must not be added (as efs-utils does).
const SYNONYMS: readonly (readonly string[])[] = [
  ['vers', 'nfsvers'],
  ['hard', 'soft'],
  ['resvport', 'noresvport'],
  ['suid', 'nosuid'],
  ['dev', 'nodev'],
]

// Options efs-home sets itself; a site may not override them through `options`.
const RESERVED = new Set(['fstype', 'port', 'nobind', 'bind'])

export function parseMountOptions(raw: string): MountOption[] {
  if (raw.trim() === '') return []
  const options = raw.split(',').map((item) => {
    const eq = item.indexOf('=')
    const key = (eq === -1 ? item : item.slice(0, eq)).trim()
    const value = eq === -1 ? undefined : item.slice(eq + 1).trim()
    if (!KEY_RE.test(key)) throw new MountOptionError(`'${item}' is not a mount option (key or key=value)`)
    if (value !== undefined && !VALUE_RE.test(value)) {
      throw new MountOptionError(`the value of mount option '${key}' may only hold letters, digits and _ . : / @ + -`)
    }
    if (RESERVED.has(key)) throw new MountOptionError(`mount option '${key}' is set by efs-home and cannot be configured`)
    return [key, value] as const
  })
  options.forEach(([key], i) => {
    const earlier = options.slice(0, i).find(([other]) => sameQuestion(other, key))
    if (earlier !== undefined) throw new MountOptionError(`mount options '${earlier[0]}' and '${key}' both set the same thing`)
  })
  return options
}

function sameQuestion(a: string, b: string): boolean {
  return a === b || SYNONYMS.some((group) => group.includes(a) && group.includes(b))
}

/**
 * The defaults in their order, each replaced by the site's option for the same
 * question where the site gave one, then the site's other options.
 */
export function withDefaults(site: readonly MountOption[], defaults: readonly MountOption[]): MountOption[] {
  const taken = new Set<MountOption>()
  const merged = defaults.map((fallback) => {
    const given = site.find(([key]) => sameQuestion(key, fallback[0]))
    if (given === undefined) return fallback
    taken.add(given)
    return given
  })
  return [...merged, ...site.filter((option) => !taken.has(option))]
}

// A home is someone's files, and its server one that a mistake or an attacker
// can get wrong (a listener on a proxy port, a forged location): a setuid-root
// file or a device node there must not give root. A site that needs them
// says `suid` or `dev` in its options.
const SAFETY: readonly MountOption[] = [
  ['nosuid', undefined],
  ['nodev', undefined],
]

/** `options` with nosuid and nodev after them, unless they already decide those questions. */
export function withSafety(options: readonly MountOption[]): MountOption[] {
  return [...options, ...SAFETY.filter(([key]) => !options.some(([other]) => sameQuestion(other, key)))]
}

export function formatMountOptions(options: readonly MountOption[]): string {
  return options.map(([key, value]) => (value === undefined ? key : `${key}=${value}`)).join(',')
}
