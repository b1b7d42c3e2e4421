// Reads /etc/efs-home/efs-home.conf (or $EFS_HOME_CONFIG) with `ini` and
// turns it into a typed, validated Config, or a ConfigError naming the file,
// section and key.

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
} from './options.js'
import { hostname } from './values.js'

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
}

const SERVER_SECTION_RE = /^server\s+"([^"]*)"$/

export function parseConfig(file: string, text: string): Config {
  const decoded = decodeSections(file, text)
  const sections: Partial<Record<SectionName, Record<string, unknown>>> = {}
  const servers = new Map<string, ServerSettings>()
  for (const [name, body] of Object.entries(decoded)) {
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
      throw new ConfigError(file, `unknown section [${name}] (known: ldap, home, efs, nfs, proxy, firewall, server "NAME")`)
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
  return {
    file,
    ldap: readSection(file, 'ldap', OPTIONS.ldap, sections.ldap ?? {}),
    home,
    efs,
    nfs: readSection(file, 'nfs', OPTIONS.nfs, sections.nfs ?? {}),
    proxy: readSection(file, 'proxy', OPTIONS.proxy, sections.proxy ?? {}),
    firewall: readSection(file, 'firewall', OPTIONS.firewall, sections.firewall ?? {}),
    servers,
  }
}

export function loadConfig(file: string = configFilePath()): Config {
  return parseConfig(file, readConfigText(file))
}
