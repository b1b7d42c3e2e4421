// The last-known-good cache: user -> home location, with the time each was
// last confirmed by LDAP. Consulted only when no LDAP server answers, so a
// directory outage does not lock everyone out of their homes.

import { dirname } from 'node:path'
import { EfsHomeError, oneLine } from '../errors.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { checkTrustedDir, makeTrustedDir, readTrustedFile } from '../util/trusted-files.js'

export interface CachedHome {
  readonly location: string
  /** Seconds since the epoch when LDAP last gave this location. */
  readonly at: number
}

export type HomesCache = Map<string, CachedHome>

const FORMAT_VERSION = 1

function cacheError(file: string, why: string): EfsHomeError {
  return new EfsHomeError('CACHE', `cache ${file}: ${why}`)
}

/** The cache's entries; an empty map when the file does not exist. */
export function readHomesCache(file: string): HomesCache {
  let bytes: Buffer | undefined
  try {
    // A cache someone else could write would let them choose where a home is mounted from.
    checkTrustedDir(dirname(file), 'the [home] cache_file directory')
    bytes = readTrustedFile(file)
  } catch (err) {
    throw cacheError(file, oneLine(err))
  }
  if (bytes === undefined) return new Map()
  const text = bytes.toString('utf8')
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw cacheError(file, 'not valid JSON')
  }
  const users = (doc as { version?: unknown; users?: unknown } | null)?.users
  if ((doc as { version?: unknown }).version !== FORMAT_VERSION || typeof users !== 'object' || users === null) {
    throw cacheError(file, `not a version ${FORMAT_VERSION} efs-home cache`)
  }
  const cache: HomesCache = new Map()
  for (const [user, value] of Object.entries(users)) {
    const { location, at } = (value ?? {}) as Partial<CachedHome>
    if (typeof location === 'string' && typeof at === 'number' && Number.isFinite(at)) cache.set(user, { location, at })
  }
  return cache
}

/**
 * Writes the whole cache. `byMapGen` marks a cache efs-map-gen --from-ldap
 * keeps for every user; the marker comes first in the file so a lookup can
 * see it without reading the rest.
 */
export function writeHomesCache(file: string, cache: HomesCache, byMapGen?: { readonly at: number }): void {
  makeTrustedDir(dirname(file), 'the [home] cache_file directory')
  writeFileAtomic(file, cacheText(cache, byMapGen), 0o600)
}

/** Entries per part of the file written at once: the agent rewrites it every few seconds while it fills, so never as one string of every user. */
const ENTRIES_PER_PART = 1000

function* cacheText(cache: HomesCache, byMapGen: { readonly at: number } | undefined): Generator<string> {
  const head = byMapGen === undefined ? {} : { maintainer: 'efs-map-gen', written: byMapGen.at }
  yield `${JSON.stringify({ version: FORMAT_VERSION, ...head }).slice(0, -1)},"users":{`
  const users = [...cache.keys()].sort()
  for (let i = 0; i < users.length; i += ENTRIES_PER_PART) {
    const part = users.slice(i, i + ENTRIES_PER_PART).map((user) => {
      const { location, at } = cache.get(user) as CachedHome
      return `${JSON.stringify(user)}:${JSON.stringify({ location, at })}`
    })
    yield `${i === 0 ? '' : ','}${part.join(',')}`
  }
  yield '}}\n'
}

/** When efs-map-gen last wrote the whole cache, from the file's first bytes; undefined if it did not. */
function writtenByMapGen(file: string): number | undefined {
  try {
    const head = readTrustedFile(file, 128)?.toString('utf8') ?? ''
    const m = /^\{"version":1,"maintainer":"efs-map-gen","written":(\d+),/.exec(head)
    return m === null ? undefined : Number(m[1])
  } catch {
    return undefined
  }
}

/**
 * Applies what LDAP just said about some users (a location each, or
 * undefined for "no such user") to `cache`; true when that changed what it
 * holds or refreshed an entry getting old.
 */
export function applyToHomesCache(
  cache: HomesCache,
  said: ReadonlyMap<string, string | undefined>,
  now: number,
  refreshAfter: number,
): boolean {
  let changed = false
  for (const [user, location] of said) {
    const known = cache.get(user)
    if (location === undefined) {
      changed = cache.delete(user) || changed
    } else if (known?.location !== location || now - known.at >= refreshAfter) {
      cache.set(user, { location, at: now })
      changed = true
    }
  }
  return changed
}

/**
 * Records what LDAP just said in `file`, rewriting it once, and only when
 * that changes what it holds or an entry is getting old. Concurrent writers
 * may drop each other's update: each write is whole, and a later lookup
 * records it again. Returns the cache as written (or read), or undefined
 * when efs-map-gen keeps the file.
 */
export function recordInHomesCache(
  file: string,
  said: ReadonlyMap<string, string | undefined>,
  now: number,
  refreshAfter: number,
): HomesCache | undefined {
  // A cache efs-map-gen refreshed lately holds every user: reading megabytes
  // of it on each lookup would only confirm that.
  const mapGen = writtenByMapGen(file)
  if (mapGen !== undefined && now - mapGen < refreshAfter) return undefined
  let cache: HomesCache
  try {
    cache = readHomesCache(file)
  } catch {
    cache = new Map() // an unreadable cache is worthless: start it again
  }
  if (applyToHomesCache(cache, said, now, refreshAfter)) writeHomesCache(file, cache)
  return cache
}
