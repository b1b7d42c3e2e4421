// Reads /etc/efs-home/efs-home.conf (or $EFS_HOME_CONFIG) with `ini` and
// turns it into a typed, validated Config, or a ConfigError naming the file,
// section and key.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { ConfigError } from '../errors.js'
import {
  type EfsSettings,
  type FirewallSettings,
  type ProxySettings,
  type HomeSettings,
  type LdapSettings,
  type NfsSettings,
  type Option,
  OPTIONS,
  SERVER_OPTIONS,
  type SectionName,
  type ServerSettings,
} from './options.js'
import { hostname, ValueError } from './values.js'

// ini is CommonJS: importing it from ESM makes Node scan it for named exports,
// which costs every lookup about 5 ms; require() does not.
const { decode } = createRequire(import.meta.url)('ini') as typeof import('ini')

const DEFAULT_CONFIG_FILE = '/etc/efs-home/efs-home.conf'

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

export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.EFS_HOME_CONFIG
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONFIG_FILE
}

const SERVER_SECTION_RE = /^server\s+"([^"]*)"$/

/**
 * `ini` nests sections at every dot, and server names are host names with
 * dots: escape the dots of each section header before decoding. Also reject
 * header lines `ini` would silently misread.
 */
function escapeSectionDots(file: string, text: string): string {
  return text
    .split(/\r?\n/)
    .map((line, i) => {
      const header = /^\s*\[(.*)\]\s*$/.exec(line)
      if (header === null) {
        if (/^\s*\[/.test(line)) throw new ConfigError(file, `line ${i + 1}: malformed section header '${line.trim()}'`)
        return line
      }
      const name = header[1] ?? ''
      if (/[\\;#[\]]/.test(name)) throw new ConfigError(file, `line ${i + 1}: malformed section header '${line.trim()}'`)
      return `[${name.replace(/\./g, '\\.')}]`
    })
    .join('\n')
}

function readSection<S extends Record<string, Option<unknown>>>(
  file: string,
  section: string,
  table: S,
  raw: Record<string, unknown>,
): { [K in keyof S]: S[K] extends Option<infer T> ? T : never } {
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(table, key)) {
      throw new ConfigError(file, `unknown key (known: ${Object.keys(table).join(', ')})`, { section, key })
    }
  }
  const out: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(table)) {
    const value = raw[key]
    if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
      throw new ConfigError(file, 'must be a single value', { section, key })
    }
    // ini turns true/false/null into JSON values and a bare key into `true`.
    const text = value === undefined ? undefined : String(value).trim()
    const given = text === '' ? undefined : text
    const effective = given ?? spec.default
    if (effective === undefined) {
      if (spec.required) throw new ConfigError(file, 'is required', { section, key })
      out[key] = undefined
      continue
    }
    try {
      out[key] = spec.parse(effective)
    } catch (err) {
      if (err instanceof ValueError) throw new ConfigError(file, err.message, { section, key })
      throw err
    }
  }
  return out as { [K in keyof S]: S[K] extends Option<infer T> ? T : never }
}

export function parseConfig(file: string, text: string): Config {
  let decoded: Record<string, unknown>
  try {
    decoded = decode(escapeSectionDots(file, text)) as Record<string, unknown>
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(file, `cannot parse: ${(err as Error).message}`)
  }
  const sections: Partial<Record<SectionName, Record<string, unknown>>> = {}
  const servers = new Map<string, ServerSettings>()
  for (const [name, body] of Object.entries(decoded)) {
    if (typeof body !== 'object' || body === null) {
      throw new ConfigError(file, `key '${name}' is outside any section`)
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
      const settings = readSection(file, name, SERVER_OPTIONS, body as Record<string, unknown>)
      servers.set(serverName, settings)
    } else if (Object.hasOwn(OPTIONS, name)) {
      sections[name as SectionName] = body as Record<string, unknown>
    } else {
      throw new ConfigError(file, `unknown section [${name}] (known: ldap, home, efs, nfs, proxy, firewall, server "NAME")`)
    }
  }
  return {
    file,
    ldap: readSection(file, 'ldap', OPTIONS.ldap, sections.ldap ?? {}),
    home: readSection(file, 'home', OPTIONS.home, sections.home ?? {}),
    efs: readSection(file, 'efs', OPTIONS.efs, sections.efs ?? {}),
    nfs: readSection(file, 'nfs', OPTIONS.nfs, sections.nfs ?? {}),
    proxy: readSection(file, 'proxy', OPTIONS.proxy, sections.proxy ?? {}),
    firewall: readSection(file, 'firewall', OPTIONS.firewall, sections.firewall ?? {}),
    servers,
  }
}

export function loadConfig(file: string = configFilePath()): Config {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message
    throw new ConfigError(file, `cannot read the config file: ${why}; set EFS_HOME_CONFIG or create it`)
  }
  return parseConfig(file, text)
}
