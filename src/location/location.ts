// A home location from LDAP, `<import_root>/<server>/<export>/<user...>`,
// is untrusted text that ends up in a mount command. It is accepted only
// when every component is plain, and split into its parts.

import { EfsHomeError } from '../errors.js'

export interface Location {
  /** The location exactly as LDAP gave it. */
  readonly raw: string
  readonly server: string
  readonly export: string
  /** Path below the export: one or more components, joined with `/`. */
  readonly rest: string
}

const COMPONENT_RE = /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*$/
const SERVER_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/
const MAX_LOCATION_LENGTH = 1024

export function isPathComponent(text: string): boolean {
  return COMPONENT_RE.test(text)
}

export function isServerName(text: string): boolean {
  return text.length <= 253 && SERVER_RE.test(text)
}

function refuse(raw: string, why: string): never {
  throw new EfsHomeError('LOCATION', `refused home location ${JSON.stringify(raw.slice(0, 200))}: ${why}`)
}

export function parseLocation(raw: string, importRoot: string): Location {
  if (raw.length > MAX_LOCATION_LENGTH) refuse(raw, 'too long')
  const prefix = importRoot === '/' ? '/' : `${importRoot}/`
  if (!raw.startsWith(prefix)) refuse(raw, `not under ${importRoot}`)
  const parts = raw.slice(prefix.length).split('/')
  if (parts.length < 3) refuse(raw, `expected ${prefix}<server>/<export>/<user>`)
  const bad = parts.find((p) => !isPathComponent(p))
  if (bad !== undefined) {
    refuse(raw, bad === '' ? 'empty path component' : `unsafe path component ${JSON.stringify(bad)}`)
  }
  const [server, exp, ...rest] = parts as [string, string, ...string[]]
  if (!isServerName(server)) refuse(raw, `${JSON.stringify(server)} is not a host name`)
  return { raw, server, export: exp, rest: rest.join('/') }
}
