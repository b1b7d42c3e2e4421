// What efs-map-gen would write: the static map from auto_static.cfg and,
// with fromLdap, every valid home in the directory, plus the program map's
// last-known-good cache from the same enumeration. Reads only; writing is
// the caller's decision (check, diff, guard).

import { readFileSync } from 'node:fs'
import type { HomesCache } from '../cache/homes-cache.js'
import type { Config } from '../config/load.js'
import { enumerateHomes } from '../directory/enumerate.js'
import { parseLocation } from '../location/location.js'
import { Deadline } from '../util/deadline.js'
import { renderStaticMap } from './render.js'
import { readStaticCfg, type StaticExport } from './static-cfg.js'
import { buildStaticMap } from './static-map.js'

export interface GenerateOptions {
  readonly source: string
  readonly output: string
  readonly fromLdap: boolean
  /** Budget for the LDAP enumeration, seconds. */
  readonly timeout: number
  /** Seconds since the epoch, stamped on cache entries. */
  readonly now: number
}

export interface Generated {
  /** The map as it would be written. */
  readonly text: string
  /** The map as it is now; undefined when there is none. */
  readonly current: string | undefined
  readonly exports: { readonly fromSource: number; readonly fromLdap: number; readonly total: number }
  /** With fromLdap: the cache to write, and what was skipped. */
  readonly ldap?: {
    readonly uri: string
    readonly users: number
    readonly cache: HomesCache
    readonly invalid: readonly string[]
    readonly ambiguous: readonly string[]
    readonly incomplete: number
  }
}

function readCurrent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function fromDirectory(config: Config, options: GenerateOptions) {
  const answer = await enumerateHomes(config.ldap, new Deadline(options.timeout))
  const byUser = new Map<string, string[]>()
  for (const { user, location } of answer.value.homes) byUser.set(user, [...(byUser.get(user) ?? []), location])
  const cache: HomesCache = new Map()
  const exports: StaticExport[] = []
  const invalid: string[] = []
  const ambiguous: string[] = []
  for (const [user, locations] of byUser) {
    if (locations.length > 1) {
      ambiguous.push(user)
      continue
    }
    try {
      const location = parseLocation(locations[0] ?? '', config.home.import_root)
      exports.push({ server: location.server, export: location.export, origin: 'LDAP' })
      cache.set(user, { location: location.raw, at: options.now })
    } catch {
      invalid.push(user)
    }
  }
  return { exports, ldap: { uri: answer.uri, users: byUser.size, cache, invalid, ambiguous, incomplete: answer.value.incomplete } }
}

export async function generateStaticMap(config: Config, options: GenerateOptions): Promise<Generated> {
  const declared = readStaticCfg(options.source)
  const directory = options.fromLdap ? await fromDirectory(config, options) : undefined
  const lines = buildStaticMap(config, [...declared, ...(directory?.exports ?? [])])
  const fromLdap = new Set((directory?.exports ?? []).map((e) => `${e.server}/${e.export}`)).size
  return {
    text: renderStaticMap({ output: options.output, source: options.source, fromLdap: options.fromLdap, lines }),
    current: readCurrent(options.output),
    exports: { fromSource: declared.length, fromLdap, total: lines.length },
    ...(directory === undefined ? {} : { ldap: directory.ldap }),
  }
}
