// What efs-map-gen would write: the static map from auto_static.cfg and,
// with fromLdap, every valid home in the directory, plus the program map's
// last-known-good cache from the same enumeration. It writes no map and no
// cache (that is the caller's decision: check, diff, guard), but unless
// asked only to read (--check) it starts the TLS proxies whose ports the map
// names, so that what it reports is what mounts will find.

import { readFileSync } from 'node:fs'
import type { HomesCache } from '../cache/homes-cache.js'
import type { Config } from '../config/load.js'
import { enumerateHomes } from '../directory/enumerate.js'
import { EfsHomeError, errnoCode } from '../errors.js'
import { ensureProxy } from '../proxy/ensure.js'
import { assignedPort } from '../proxy/ports.js'
import { usesTls } from '../proxy/target.js'
import { classifyServer, unfirewalled } from '../servers/classify.js'
import { parseLocation } from '../location/location.js'
import { allTrees } from '../lookup/tree.js'
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
  /** Start the TLS proxies the map points at; else only read their assigned ports (for --check). */
  readonly startProxies: boolean
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
    if (errnoCode(err) === 'ENOENT') return undefined
    throw err
  }
}

interface DirectoryView {
  /** user -> location, or null for a user in more than one entry. */
  readonly byUser: Map<string, string | null>
  readonly incomplete: number
}

function collectByUser() {
  const byUser = new Map<string, string | null>()
  let incomplete = 0
  return {
    add: (user: string, location: string) => byUser.set(user, byUser.has(user) ? null : location),
    skip: () => {
      incomplete += 1
    },
    done: (): DirectoryView => ({ byUser, incomplete }),
  }
}

/** The export of a location, if it is valid and its server protected; one user's bad value must not fail every other export. */
function exportOf(config: Config, raw: string, attribute: string): StaticExport | undefined {
  try {
    const location = parseLocation(raw, config.home.import_root)
    if (unfirewalled(config, classifyServer(config, location.server)) !== undefined) return undefined
    return { server: location.server, export: location.export, origin: attribute === config.ldap.attribute ? 'LDAP' : `LDAP ${attribute}` }
  } catch {
    return undefined
  }
}

async function fromDirectory(config: Config, options: GenerateOptions) {
  const answer = await enumerateHomes(config.ldap, new Deadline(options.timeout), collectByUser)
  const cache: HomesCache = new Map()
  const exports = new Map<string, StaticExport>()
  const add = (exp: StaticExport) => {
    const key = `${exp.server}/${exp.export}`
    if (!exports.has(key)) exports.set(key, exp)
  }
  const invalid: string[] = []
  const ambiguous: string[] = []
  for (const [user, raw] of answer.value.byUser) {
    if (raw === null) {
      ambiguous.push(user)
      continue
    }
    const exp = exportOf(config, raw, config.ldap.attribute)
    if (exp === undefined) invalid.push(user)
    else {
      add(exp)
      cache.set(user, { location: raw, at: options.now })
    }
  }
  // The servers of every tree with an attribute of its own (a sub_path tree lives on the homes' exports).
  const others = new Set(allTrees(config).map((t) => t.attribute))
  others.delete(config.ldap.attribute)
  for (const attribute of others) {
    const tree = await enumerateHomes({ ...config.ldap, attribute }, new Deadline(options.timeout), collectByUser)
    for (const raw of tree.value.byUser.values()) {
      const exp = raw === null ? undefined : exportOf(config, raw, attribute)
      if (exp !== undefined) add(exp)
    }
  }
  return {
    exports: [...exports.values()],
    ldap: { uri: answer.uri, users: answer.value.byUser.size, cache, invalid, ambiguous, incomplete: answer.value.incomplete },
  }
}

/** The proxy port of every TLS file system among `exports`, the proxies up (unless only reading). */
async function proxyPorts(config: Config, exports: readonly StaticExport[], start: boolean): Promise<Map<string, number>> {
  const ports = new Map<string, number>()
  for (const exp of exports) {
    const server = classifyServer(config, exp.server)
    if (server.kind !== 'efs' || !usesTls(config, server) || server.fsId === undefined || ports.has(server.fsId)) continue
    const port = start ? await ensureProxy(config, server, new Deadline(config.home.deadline)) : assignedPort(config, server.fsId)
    if (port === undefined)
      throw new EfsHomeError('ENTRY', `${exp.origin}: ${server.fsId} has no proxy port yet; run efs-map-gen without --check`)
    ports.set(server.fsId, port)
  }
  return ports
}

export async function generateStaticMap(config: Config, options: GenerateOptions): Promise<Generated> {
  const declared = readStaticCfg(options.source)
  const directory = options.fromLdap ? await fromDirectory(config, options) : undefined
  const exports = [...declared, ...(directory?.exports ?? [])]
  const lines = buildStaticMap(config, exports, await proxyPorts(config, exports, options.startProxies))
  const fromLdap = directory?.exports.length ?? 0
  return {
    text: renderStaticMap({ output: options.output, source: options.source, fromLdap: options.fromLdap, lines }),
    current: readCurrent(options.output),
    exports: { fromSource: declared.length, fromLdap, total: lines.length },
    ...(directory === undefined ? {} : { ldap: directory.ldap }),
  }
}
