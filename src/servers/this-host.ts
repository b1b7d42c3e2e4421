// Is a server name this host? autofs bind-mounts a server it takes for a
// local one (design.md §4), and an NFS port on loopback is one any local
// user may listen on. LDAP values spell loopback many ways: names,
// 127.1, 0, 2130706433, 0x7f000001, 017700000001 (inet_aton's forms).

import { isIPv4, isIPv6 } from 'node:net'
import { hostname, networkInterfaces } from 'node:os'

/** The dotted IPv4 address a name spells in any of inet_aton's number forms, or undefined for a name. */
function numericIPv4(name: string): string | undefined {
  if (!/^[0-9a-fx.]+$/i.test(name)) return undefined
  try {
    // URL host parsing implements the same number forms (decimal, octal, hex, fewer than four parts).
    const host = new URL(`http://${name}/`).hostname
    return isIPv4(host) ? host : undefined
  } catch {
    return undefined
  }
}

function ownAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.toLowerCase())))
}

const LOCAL_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback'])

/** Why `name` is this host (a phrase), or undefined when it is another one. */
export function thisHost(name: string): string | undefined {
  const lower = name.toLowerCase().replace(/\.$/, '')
  if (LOCAL_NAMES.has(lower) || lower.endsWith('.localhost')) return 'a name for loopback'
  const own = hostname().toLowerCase()
  if (lower === own || lower === own.split('.')[0]) return "this host's own name"
  const v4 = numericIPv4(lower)
  if (v4 !== undefined && (v4.startsWith('127.') || v4.startsWith('0.'))) return `loopback, ${v4}`
  if (isIPv6(lower) && (lower === '::1' || lower === '::' || /^::ffff:(127|0)\./.test(lower))) return `loopback, ${lower}`
  const address = v4 ?? (isIPv6(lower) ? lower : undefined)
  if (address !== undefined && ownAddresses().has(address)) return `an address of this host, ${address}`
  return undefined
}
