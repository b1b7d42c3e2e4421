// Parsers for the value types of the config file. Each takes the raw text
// of one value and returns it converted, or throws a ValueError whose
// message completes "<section> <key>: ...".

export class ValueError extends Error {
  override name = 'ValueError'
}

export type Parser<T> = (raw: string) => T

const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const HOSTNAME_RE = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*\\.?$`)
const IPV4_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
// Path characters that need no quoting in an autofs map entry or a mount argument.
const SAFE_PATH_RE = /^\/(?:[A-Za-z0-9._@+-]+\/?)*$/

export const text: Parser<string> = (raw) => {
  if (raw === '') throw new ValueError('must not be empty')
  if (/[\0\r\n]/.test(raw)) throw new ValueError('must be one line of text')
  return raw
}

export const bool: Parser<boolean> = (raw) => {
  const v = raw.toLowerCase()
  if (['true', 'yes', 'on', '1'].includes(v)) return true
  if (['false', 'no', 'off', '0'].includes(v)) return false
  throw new ValueError(`'${raw}' is not a boolean (true or false)`)
}

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }

/** A duration in seconds: `3`, `0.5`, `90s`, `10m`, `12h`, `7d`. */
export const seconds: Parser<number> = (raw) => {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(raw.trim())
  const n = m === null ? NaN : Number(m[1]) * (UNIT_SECONDS[m[2] ?? ''] ?? NaN)
  if (!Number.isFinite(n) || n <= 0) {
    throw new ValueError(`'${raw}' is not a positive duration (seconds, or a number with s, m, h or d)`)
  }
  return n
}

export const wholeNumber: Parser<number> = (raw) => {
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new ValueError(`'${raw}' is not a whole number (0 or more)`)
  return Number(raw)
}

export const positiveInteger: Parser<number> = (raw) => {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw new ValueError(`'${raw}' is not a positive whole number`)
  }
  return Number(raw)
}

export const ldapUriList: Parser<URL[]> = (raw) => {
  const words = raw.split(/[\s,]+/).filter((w) => w !== '')
  if (words.length === 0) throw new ValueError('needs at least one LDAP URL')
  return words.map((word) => {
    let url: URL
    try {
      url = new URL(word)
    } catch {
      throw new ValueError(`'${word}' is not an LDAP URL (ldap://host[:port] or ldaps://host[:port])`)
    }
    if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') {
      throw new ValueError(`'${word}' is not an LDAP URL (ldap://host[:port] or ldaps://host[:port])`)
    }
    if (url.hostname === '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.username !== '') {
      throw new ValueError(`'${word}' must name only a scheme, host and port`)
    }
    return url
  })
}

/** An LDAP attribute description: a name or an OID. */
export const attributeName: Parser<string> = (raw) => {
  if (!/^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/.test(raw)) {
    throw new ValueError(`'${raw}' is not an LDAP attribute name`)
  }
  return raw
}

export const absolutePath: Parser<string> = (raw) => {
  if (!raw.startsWith('/') || /[\0\r\n]/.test(raw) || raw.split('/').includes('..')) {
    throw new ValueError(`'${raw}' is not an absolute path`)
  }
  return raw
}

/** A path that may appear in a map entry: absolute, safe characters only, no dot components. */
export const safePath: Parser<string> = (raw) => {
  const parts = raw.split('/')
  if (!SAFE_PATH_RE.test(raw) || parts.includes('.') || parts.includes('..')) {
    throw new ValueError(`'${raw}' must be an absolute path of letters, digits and . _ @ + -`)
  }
  return raw.length > 1 ? raw.replace(/\/+$/, '') : raw
}

export const regex: Parser<RegExp> = (raw) => {
  try {
    return new RegExp(raw)
  } catch (err) {
    throw new ValueError(`'${raw}' is not a valid regular expression: ${(err as Error).message}`)
  }
}

export const hostname: Parser<string> = (raw) => {
  if (raw.length > 253 || (!HOSTNAME_RE.test(raw) && !IPV4_RE.test(raw) && !isIpv6(raw))) {
    throw new ValueError(`'${raw}' is not a host name or IP address`)
  }
  return raw.replace(/\.$/, '').toLowerCase()
}

function isIpv6(raw: string): boolean {
  return /^[0-9A-Fa-f:.]+$/.test(raw) && raw.includes(':') && URL.canParse(`http://[${raw}]/`)
}

export const fileSystemId: Parser<string> = (raw) => {
  if (!/^fs-[0-9a-f]+$/.test(raw)) throw new ValueError(`'${raw}' is not an EFS file system id (fs- and lower-case hex)`)
  return raw
}

export const accessPointId: Parser<string> = (raw) => {
  if (!/^fsap-[0-9a-f]{17}$/.test(raw)) throw new ValueError(`'${raw}' is not an EFS access point id (fsap- and 17 lower-case hex digits)`)
  return raw
}

/** An AWS profile name as the SDK's config files have them: no spaces, brackets or control characters. */
export const awsProfile: Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9_.@+=,-]{1,64}$/.test(raw)) throw new ValueError(`'${raw}' is not an AWS profile name (letters, digits, _ . @ + = , -)`)
  return raw
}

export const region: Parser<string> = (raw) => {
  if (!/^[a-z]{2}(?:-[a-z]+)+-\d+$/.test(raw)) throw new ValueError(`'${raw}' is not an AWS region (like us-east-1)`)
  return raw
}

export const availabilityZone: Parser<string> = (raw) => {
  if (!/^[a-z]{2}(?:-[a-z]+)+-\d+[a-z]$/.test(raw)) {
    throw new ValueError(`'${raw}' is not an availability zone name (like us-east-1a)`)
  }
  return raw
}

export const dnsSuffix: Parser<string> = (raw) => {
  if (!HOSTNAME_RE.test(raw) || raw.endsWith('.')) throw new ValueError(`'${raw}' is not a DNS suffix (like amazonaws.com)`)
  return raw.toLowerCase()
}

// The kernel's NFS client takes its source ports from 665-1023 (sunrpc
// min_resvport..max_resvport); a port of ours there could be taken from it.
export const NFS_RESERVED_FIRST = 665

const ROOT_ONLY_WHY = `ports from 1024 can be bound by any user, who could then stand in for efs-home, and ${NFS_RESERVED_FIRST}-1023 are the NFS client's own source ports`

/** A port only root can bind, clear of the NFS client's reserved ports: no user can stand in for the process listening there. */
export const rootOnlyPort: Parser<number> = (raw) => {
  const port = Number(raw)
  if (!/^\d{1,5}$/.test(raw) || port < 1 || port >= NFS_RESERVED_FIRST)
    throw new ValueError(`'${raw}' is not a port from 1 to ${NFS_RESERVED_FIRST - 1}: ${ROOT_ONLY_WHY}`)
  return port
}

/** Ports only root can bind, clear of the NFS client's reserved ports. */
export const rootOnlyPortRange: Parser<{ first: number; last: number }> = (raw) => {
  const range = portRange(raw)
  if (range.last >= NFS_RESERVED_FIRST)
    throw new ValueError(`'${raw}' reaches port ${NFS_RESERVED_FIRST} or above: ${ROOT_ONLY_WHY}; use ports below ${NFS_RESERVED_FIRST}`)
  return range
}

export const portRange: Parser<{ first: number; last: number }> = (raw) => {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(raw)
  const first = Number(m?.[1])
  const last = Number(m?.[2])
  if (m === null || first < 1 || last > 65535 || first > last) {
    throw new ValueError(`'${raw}' is not a port range (like 250-349)`)
  }
  return { first, last }
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(...words: T[]): Parser<T> {
  return (raw) => {
    if (!(words as string[]).includes(raw)) throw new ValueError(`'${raw}' must be one of: ${words.join(', ')}`)
    return raw as T
  }
}

/** A template whose `{name}` placeholders must come from `allowed`, with `required` present. */
export function template(allowed: string[], required: string[]): Parser<string> {
  return (raw) => {
    const names = [...raw.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] ?? '')
    const unknown = names.find((n) => !allowed.includes(n))
    if (unknown !== undefined) {
      throw new ValueError(`unknown placeholder {${unknown}} in '${raw}' (allowed: ${allowed.map((a) => `{${a}}`).join(' ')})`)
    }
    const missing = required.find((r) => !names.includes(r))
    if (missing !== undefined) throw new ValueError(`'${raw}' must contain {${missing}}`)
    if (/[{}]/.test(raw.replace(/\{[^{}]*\}/g, ''))) throw new ValueError(`unbalanced braces in '${raw}'`)
    return raw
  }
}
