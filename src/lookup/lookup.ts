// key -> map entry: the code automount runs through efs-home-map, and that
// `efs-home lookup` and tests call in-process. No process-level state: the
// config comes in, the answer (or a typed error) goes out, and each step is
// reported to an optional observer so it can be explained.

import { type CachedHome, readHomesCache } from '../cache/homes-cache.js'
import { type CacheRecorder, directRecorder } from '../cache/recorder.js'
import { type Config, HOME_MOUNT_POINT } from '../config/load.js'
import { findHome } from '../directory/find-home.js'
import { healthFile, serverHealth } from '../directory/server-health.js'
import type { ConnectionPool } from '../directory/pool.js'
import { type Attempt, DirectoryUnavailableError } from '../directory/servers.js'
import { EfsHomeError, oneLine } from '../errors.js'
import { type Location, parseLocation } from '../location/location.js'
import { type HostSource, resolveEfsHost } from '../efs/host.js'
import { buildEntry, type EfsVia, formatEntry, type MountEntry } from '../mount/entry.js'
import { proxyTarget, usesTls } from '../proxy/target.js'
import { classifyServer, type Server, unfirewalled } from '../servers/classify.js'
import { Deadline } from '../util/deadline.js'
import { checkKey } from './key.js'
import { homeTree, type Tree } from './tree.js'

export type Step =
  | { readonly step: 'directory'; readonly uri: string | undefined; readonly attempts: readonly Attempt[]; readonly error?: string }
  | { readonly step: 'cache'; readonly file: string; readonly location: string; readonly ageSeconds: number }
  | { readonly step: 'location'; readonly location: Location }
  | { readonly step: 'classification'; readonly server: Server }
  | {
      readonly step: 'proxy'
      readonly fsId: string
      readonly port: number
      /** What its client certificate carries. */
      readonly iam: boolean
      readonly accessPoint: string | undefined
    }
  | { readonly step: 'host'; readonly host: string; readonly source: HostSource; readonly notes: readonly string[] }
  | { readonly step: 'entry'; readonly entry: MountEntry; readonly text: string }

export interface LookupOptions {
  /** Called with each step as it completes. */
  readonly observe?: (step: Step) => void
  /** Seconds since the epoch; for cache ages. */
  readonly now?: number
  /** Default: [home] deadline from now. */
  readonly deadline?: Deadline
  /** LDAP connections kept between lookups (the agent's); default: one connection per lookup. */
  readonly pool?: ConnectionPool
  /** Where what LDAP said is recorded, for a cache file (the agent batches); default: written through. */
  readonly recorderFor?: (cacheFile: string) => CacheRecorder
  /** The tree looked up in; default /home. */
  readonly tree?: Tree
}

export interface LookupResult {
  readonly key: string
  readonly tree: Tree
  readonly source: 'ldap' | 'cache'
  readonly location: Location
  readonly server: Server
  readonly entry: MountEntry
  /** The map entry line automount reads. */
  readonly text: string
}

async function locate(
  config: Config,
  tree: Tree,
  key: string,
  now: number,
  deadline: Deadline,
  pool: ConnectionPool | undefined,
  recorder: CacheRecorder | undefined,
  observe: (s: Step) => void,
): Promise<{ raw: string; source: 'ldap' | 'cache' }> {
  try {
    const health = serverHealth(healthFile(config), config.ldap.uri, config.ldap.retry_failed_after)
    const answer = await findHome({ ...config.ldap, attribute: tree.attribute }, key, deadline, { health, pool })
    observe({ step: 'directory', uri: answer.uri, attempts: answer.attempts })
    return { raw: answer.value, source: 'ldap' }
  } catch (err) {
    if (err instanceof DirectoryUnavailableError) {
      observe({ step: 'directory', uri: undefined, attempts: err.attempts, error: err.message })
      // What the agent learnt a moment ago may not be written yet.
      recorder?.flush()
      return { raw: fromCache(config, tree.cacheFile, key, now, err, observe), source: 'cache' }
    }
    if (err instanceof EfsHomeError && (err.code === 'NOT_FOUND' || err.code === 'ABSENT')) {
      // LDAP says the user (or their place in this tree) is gone: make sure an outage cannot bring it back.
      recorder?.record(key, undefined, now, 0)
      // A home is expected of every user: its absence is worth a line in automount's log.
      if (err.code === 'ABSENT' && tree.mountPoint === HOME_MOUNT_POINT) throw new EfsHomeError('NOT_FOUND', err.message)
    }
    throw err
  }
}

function fromCache(
  config: Config,
  file: string,
  key: string,
  now: number,
  unavailable: DirectoryUnavailableError,
  observe: (s: Step) => void,
): string {
  let cached: CachedHome | undefined
  try {
    cached = readHomesCache(file).get(key)
  } catch (err) {
    throw new EfsHomeError('LDAP_UNAVAILABLE', `${unavailable.message}; and the cache is unusable: ${oneLine(err)}`)
  }
  const ageSeconds = cached === undefined ? undefined : now - cached.at
  if (cached === undefined || ageSeconds === undefined || ageSeconds > config.home.cache_max_age || ageSeconds < 0) {
    const why = cached === undefined ? `no cached location for '${key}'` : `the cached location for '${key}' is too old`
    throw new EfsHomeError('LDAP_UNAVAILABLE', `${unavailable.message}; and ${why} in ${file}`)
  }
  observe({ step: 'cache', file, location: cached.location, ageSeconds })
  return cached.location
}

/** The location a sub_path tree mounts: the home's, and the path below it. */
function withSubPath(location: Location, subPath: string | undefined): Location {
  return subPath === undefined ? location : { ...location, rest: `${location.rest}/${subPath}` }
}

export async function lookupHome(config: Config, rawKey: string, options: LookupOptions = {}): Promise<LookupResult> {
  const observe = options.observe ?? (() => undefined)
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const key = checkKey(rawKey)
  const deadline = options.deadline ?? new Deadline(config.home.deadline)
  const tree = options.tree ?? homeTree(config)
  const recorder = config.home.cache_update ? (options.recorderFor ?? directRecorder)(tree.cacheFile) : undefined
  const { raw, source } = await locate(config, tree, key, now, deadline, options.pool, recorder, observe)
  const location = withSubPath(parseLocation(raw, config.home.import_root), tree.subPath)
  observe({ step: 'location', location })
  let server = classifyServer(config, location.server)
  observe({ step: 'classification', server })
  const exposed = unfirewalled(config, server)
  if (exposed !== undefined) throw new EfsHomeError('LOCATION', `refused home location ${JSON.stringify(raw)}: ${exposed}`)
  let via: EfsVia = {}
  if (server.kind === 'efs' && usesTls(config, server)) {
    // Loaded only for TLS homes: the program map stays light for the rest.
    const [{ ensureProxy }, { withFileSystemId }] = await Promise.all([import('../proxy/ensure.js'), import('../efs/identity.js')])
    server = await withFileSystemId(config, server, deadline)
    const proxyPort = await ensureProxy(config, server, deadline)
    via = { proxyPort }
    const { iam, accessPoint } = proxyTarget(config, server)
    observe({ step: 'proxy', fsId: server.fsId ?? '', port: proxyPort, iam, accessPoint })
  } else if (server.kind === 'efs') {
    const resolved = await resolveEfsHost(config, server, deadline)
    via = { host: resolved.host }
    observe({ step: 'host', host: resolved.host, source: resolved.source, notes: resolved.notes })
  }
  const entry = buildEntry(config, server, { export: location.export, rest: location.rest, over: tree.options }, via)
  const text = formatEntry(entry)
  observe({ step: 'entry', entry, text })
  // Re-record well before entries expire, so a regular user never ages out.
  if (source === 'ldap') recorder?.record(key, raw, now, config.home.cache_max_age / 4)
  return { key, tree, source, location, server, entry, text }
}
