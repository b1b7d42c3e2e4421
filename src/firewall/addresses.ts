// Addresses and networks in the form iptables-save prints them (network
// address masked, IPv6 compressed, always with a prefix length), so rendered
// rules compare equal to live ones.

import { isIPv4, isIPv6 } from 'node:net'

export interface Cidr {
  readonly family: 4 | 6
  /** `10.0.0.0/16`, `fd00::5/128` */
  readonly text: string
}

function v4ToBig(address: string): bigint {
  return address.split('.').reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n)
}

function bigToV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((n >> shift) & 255n)).join('.')
}

function v6ToBig(address: string): bigint {
  // URL parsing expands and validates IPv6, embedded IPv4 included.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1)
  const [head = '', tail] = canonical.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n)
}

function bigToV6(n: bigint): string {
  // inet_ntop, which iptables-save uses, prints IPv4-mapped addresses dotted.
  if (n >> 32n === 0xffffn) return `::ffff:${bigToV4(n & 0xffffffffn)}`
  const groups = Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16))
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)
}

/** An address or network in canonical form, or undefined when it is neither. */
export function parseCidr(raw: string): Cidr | undefined {
  const [address = '', prefixText, extra] = raw.trim().split('/')
  if (extra !== undefined) return undefined
  // No zone ids (fe80::1%eth0): rules name addresses, not interfaces.
  const family = isIPv4(address) ? 4 : isIPv6(address) && !address.includes('%') ? 6 : undefined
  if (family === undefined) return undefined
  const bits = family === 4 ? 32 : 128
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined
  const prefix = prefixText === undefined ? bits : Number(prefixText)
  if (prefix > bits) return undefined
  const value = family === 4 ? v4ToBig(address) : v6ToBig(address)
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n)
  const network = value & mask
  return { family, text: `${family === 4 ? bigToV4(network) : bigToV6(network)}/${prefix}` }
}
