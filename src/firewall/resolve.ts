// Names to addresses when the rules are built. DNS answers are untrusted
// input like any other: only well-formed addresses are kept, and a name that
// does not resolve in time is reported, never silently dropped.

import { lookup } from 'node:dns/promises'
import { oneLine } from '../errors.js'
import { withTimeout } from '../util/deadline.js'
import { type Cidr, parseCidr } from './addresses.js'

export interface Resolution {
  readonly name: string
  readonly addresses: readonly Cidr[]
  /** Why the name gave no address. */
  readonly error?: string
}

async function resolveOne(name: string, timeoutMs: number): Promise<Resolution> {
  try {
    const answers = await withTimeout(lookup(name, { all: true, verbatim: true }), timeoutMs, `resolving ${name}`)
    const addresses = answers.flatMap((a) => parseCidr(a.address) ?? [])
    return addresses.length > 0 ? { name, addresses } : { name, addresses, error: 'no usable address in the answer' }
  } catch (err) {
    return { name, addresses: [], error: oneLine(err) }
  }
}

export async function resolveNames(names: readonly string[], timeoutMs: number): Promise<Resolution[]> {
  return Promise.all(names.map((name) => resolveOne(name, timeoutMs)))
}
