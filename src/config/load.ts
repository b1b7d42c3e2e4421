// Reads /etc/efs-home/efs-home.conf (or $EFS_HOME_CONFIG) with `ini` and
// turns it into a typed, validated Config, or a ConfigError naming the file,
// section and key.

import { checkTreeCaches } from '../lookup/tree.js'
import { ConfigError } from '../errors.js'
import { configFilePath, decodeSections, readConfigText } from './ini-file.js'
import { readSection } from './option.js'
import {
  type EfsSettings,
  type FirewallSettings,
  type ProxySettings,
  type HomeSettings,
  type LdapSettings,
  type NfsSettings,
  OPTIONS,
  SERVER_OPTIONS,
  type SectionName,
  type ServerSettings,
  TREE_OPTIONS,
  type TreeSettings,
} from './options.js'
import { hostname, safePath } from './values.js'
import { FS_ID_RE } from '../servers/efs-names.js'

export interface Config {
  readonly file: string
  readonly ldap: LdapSettings
  readonly home: HomeSettings
  readonly efs: EfsSettings
  readonly nfs: NfsSettings
  readonly proxy: ProxySettings
  readonly firewall: FirewallSettings
  /** `[server "NAME"]` sections by lower-case name. */
  readonly servers: ReadonlyMap<string, ServerSettings>
  /** `[tree "MOUNT POINT"]` sections: the per-user trees besides /home. */
  readonly trees: ReadonlyMap<string, TreeSettings>
}

const SERVER_SECTION_RE = /^server\s+"([^"]*)"$/
const TREE_SECTION_RE = /^tree\s+"([^"]*)"$/

/** The home tree's mount point, which automount serves from maps/auto.master.d/home.autofs. */
export const HOME_MOUNT_POINT = '/home'

/** A [tree] section: its mount point checked, and exactly one source of locations. */
function readTree(file: string, section: string, name: string, body: Record<string, unknown>, importRoot: string): [string, TreeSettings] {
  let mountPoint: string
  try {
    mountPoint = safePath(name)
  } catch (err) {
    throw new ConfigError(file, `mount point: ${(err as Error).message}`, { section })
  }
  const within = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`)
  if (mountPoint === '/' || within(mountPoint, HOME_MOUNT_POINT) || within(mountPoint, importRoot))
    throw new ConfigError(file, `mount point ${mountPoint} overlaps / , ${HOME_MOUNT_POINT} or [home] import_root ${importRoot}`, {
      section,
    })
  const tree = readSection(file, section, TREE_OPTIONS, body)
  if ((tree.attribute === undefined) === (tree.sub_path === undefined))
    throw new ConfigError(file, 'needs attribute (its own LDAP attribute) or sub_path (below the home), exactly one', { section })
  return [mountPoint, tree]
}

/**
 * IAM and access points travel in the TLS proxy's client certificate: they
 * need TLS, and one proxy per file system carries one certificate, so every
 * server of a file system must ask for the same.
 */
function checkClientCertificates(file: string, efs: EfsSettings, servers: ReadonlyMap<string, ServerSettings>): void {
  if (efs.iam && !efs.tls)
    throw new ConfigError(file, 'IAM authorization travels in the TLS session: needs tls = true', { section: 'efs', key: 'iam' })
  const byFs = new Map<string, { server: string; iam: boolean; accessPoint: string | undefined }>()
  for (const [name, s] of servers) {
    const section = `server "${name}"`
    const iam = s.iam ?? efs.iam
    const tls = s.tls ?? efs.tls
    if (!tls && (iam || s.access_point !== undefined))
      throw new ConfigError(file, `${iam ? 'IAM authorization' : 'an access point'} travels in the TLS session: needs tls = true`, {
        section,
        key: iam ? 'iam' : 'access_point',
      })
    const fsId = s.fs_id ?? (FS_ID_RE.test(name) ? name : undefined)
    if (fsId === undefined || !tls) continue
    const seen = byFs.get(fsId)
    if (seen !== undefined && (seen.iam !== iam || seen.accessPoint !== s.access_point))
      throw new ConfigError(
        file,
        `${fsId} is also served by [server "${seen.server}"] with ${seen.iam ? 'iam' : 'no iam'} and ${seen.accessPoint ?? 'no access point'}: a host has one TLS proxy, so one client certificate, per file system; give both servers the same iam and access_point`,
        { section },
      )
    byFs.set(fsId, { server: name, iam, accessPoint: s.access_point })
  }
}

export function parseConfig(file: string, text: string): Config {
  const decoded = decodeSections(file, text)
  const sections: Partial<Record<SectionName, Record<string, unknown>>> = {}
  const servers = new Map<string, ServerSettings>()
  const treeSections: [string, string, Record<string, unknown>][] = []
  for (const [name, body] of Object.entries(decoded)) {
    const tree = TREE_SECTION_RE.exec(name)
    if (tree !== null) {
      treeSections.push([name, tree[1] ?? '', body])
      continue
    }
    const server = SERVER_SECTION_RE.exec(name)
    if (server !== null) {
      let serverName: string
      try {
        serverName = hostname(server[1] ?? '')
      } catch (err) {
        throw new ConfigError(file, `server name: ${(err as Error).message}`, { section: name })
      }
      if (servers.has(serverName)) throw new ConfigError(file, 'server given twice', { section: name })
      const settings = readSection(file, name, SERVER_OPTIONS, body)
      servers.set(serverName, settings)
    } else if (Object.hasOwn(OPTIONS, name)) {
      sections[name as SectionName] = body
    } else {
      throw new ConfigError(
        file,
        `unknown section [${name}] (known: ldap, home, efs, nfs, proxy, firewall, server "NAME", tree "MOUNT POINT")`,
      )
    }
  }
  const home = readSection(file, 'home', OPTIONS.home, sections.home ?? {})
  const efs = readSection(file, 'efs', OPTIONS.efs, sections.efs ?? {})
  const { first, last } = efs.port_range
  if (home.agent_port >= first && home.agent_port <= last)
    throw new ConfigError(file, `${home.agent_port} is one of the TLS proxies' ports ([efs] port_range ${first}-${last})`, {
      section: 'home',
      key: 'agent_port',
    })
  checkClientCertificates(file, efs, servers)
  const trees = new Map<string, TreeSettings>()
  for (const [section, name, body] of treeSections) {
    const [mountPoint, tree] = readTree(file, section, name, body, home.import_root)
    if (trees.has(mountPoint)) throw new ConfigError(file, 'tree given twice', { section })
    trees.set(mountPoint, tree)
  }
  const config: Config = {
    file,
    trees,
    ldap: readSection(file, 'ldap', OPTIONS.ldap, sections.ldap ?? {}),
    home,
    efs,
    nfs: readSection(file, 'nfs', OPTIONS.nfs, sections.nfs ?? {}),
    proxy: readSection(file, 'proxy', OPTIONS.proxy, sections.proxy ?? {}),
    firewall: readSection(file, 'firewall', OPTIONS.firewall, sections.firewall ?? {}),
    servers,
  }
  checkTreeCaches(config)
  return config
}

export function loadConfig(file: string = configFilePath()): Config {
  return parseConfig(file, readConfigText(file))
}
