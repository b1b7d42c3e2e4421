// The manual pages, from the sources --help and the README's option table
// come from: each command's own --help text (yargs), the option table
// (src/config/options.ts), and the program map's contract below. Written by
// `npm run build` (src/doc/build-man.ts) into dist/man; a test keeps them
// equal to what the commands say now.

import type { Option } from '../config/option.js'
import { OPTIONS, SERVER_OPTIONS, TREE_OPTIONS } from '../config/options.js'

export interface ManPage {
  readonly file: string
  readonly text: string
}

/** Text safe in roff: backslashes doubled, no line starting with a control character, a break allowed after each comma in a long word. */
export function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/,(?=\S)/g, ',\\:')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n')
}

function header(name: string, section: number, title: string, date: string): string {
  // Left-aligned, no hyphenation: option names, paths and long option lists must not be stretched or split.
  return `.TH ${name.toUpperCase()} ${section} "${date}" "efs-home" "efs-home"\n.ad l\n.nh\n.SH NAME\n${name} \\- ${roff(title)}\n`
}

/** A --help text as it is, in a no-fill block. */
function preformatted(text: string): string {
  return `.nf\n${roff(text.trimEnd())}\n.fi\n`
}

const SEE_ALSO = ['efs-home(8)', 'efs-home-map(8)', 'efs-map-gen(8)', 'efs-home.conf(5)', 'automount(8)', 'auto.master(5)', 'nfs(5)']

function seeAlso(self: string): string {
  return `.SH SEE ALSO\n${SEE_ALSO.filter((p) => !p.startsWith(`${self}(`))
    .map((p) => p.replace(/^(.+)\((\d)\)$/, '.BR $1 ($2)'))
    .join(',\n')}\n`
}

export interface CommandHelp {
  /** `efs-home proxy`, ... */
  readonly command: string
  readonly help: string
}

/** efs-home(8): the top-level --help, then each command's. */
export function efsHomePage(date: string, top: string, commands: readonly CommandHelp[]): ManPage {
  const body = commands.map((c) => `.SS ${roff(c.command)}\n${preformatted(c.help)}`).join('')
  return {
    file: 'efs-home.8',
    text: `${header('efs-home', 8, 'inspect and run the parts of efs-home: lookups, TLS proxies, the lookup agent, the firewall', date)}.SH SYNOPSIS\n${preformatted(top)}.SH COMMANDS\n${body}${seeAlso('efs-home')}`,
  }
}

/** efs-map-gen(8): its --help. */
export function mapGenPage(date: string, help: string): ManPage {
  return {
    file: 'efs-map-gen.8',
    text: `${header('efs-map-gen', 8, 'write /etc/auto.static from /etc/auto_static.cfg and LDAP', date)}.SH SYNOPSIS\n${preformatted(help)}${seeAlso('efs-map-gen')}`,
  }
}

/** The program map's contract with automount; README "efs-home-map KEY" says the same at length. */
export const MAP_CONTRACT = [
  ['SYNOPSIS', 'efs-home-map KEY'],
  [
    'DESCRIPTION',
    "automount(8) runs efs-home-map as a program map, with the key (a user name) as its only argument and the map's mount point as its working directory. It prints one map entry for the user's home, or nothing. The user's location comes from LDAP (or the last-known-good cache when no LDAP server answers), /import/<server>/<export>/<user>; an EFS server is mounted through the bundled TLS proxy unless [efs] tls is false. efs-home-map is a bash script that asks the resident lookup agent on 127.0.0.1:[home] agent_port and hands over to the Node map when the agent cannot answer.",
  ],
  [
    'EXIT STATUS',
    '0: an entry was printed. 1: no entry (no such user, a refused key or location, no LDAP and no cache, the deadline passed); the reason is one line on standard error, which automount logs.',
  ],
  ['ENVIRONMENT', 'EFS_HOME_CONFIG: the config file instead of /etc/efs-home/efs-home.conf.'],
  ['FILES', '/etc/efs-home/efs-home.conf, [home] cache_file, [home] agent_dir/agent.keys, /etc/auto.master.d/home.autofs'],
] as const

export function mapPage(date: string): ManPage {
  const body = MAP_CONTRACT.map(([title, text]) => `.SH ${title}\n${roff(text)}\n`).join('')
  return {
    file: 'efs-home-map.8',
    text: `${header('efs-home-map', 8, 'the autofs program map of efs-home', date)}${body}${seeAlso('efs-home-map')}`,
  }
}

function optionEntries(table: Record<string, Option<unknown>>): string {
  return Object.entries(table)
    .map(([key, spec]) => {
      const def = spec.required ? ' (required)' : spec.default === undefined || spec.default === '' ? '' : ` = ${spec.default}`
      return `.TP\n.B ${roff(key)}${roff(def)}\n${roff(spec.description)}\n`
    })
    .join('')
}

/** efs-home.conf(5): every option, as declared (the README's option table comes from the same table). */
export function confPage(date: string): ManPage {
  const sections = [
    ...Object.entries(OPTIONS).map(([name, table]) => [`[${name}]`, table] as const),
    ['[server "NAME"]', SERVER_OPTIONS] as const,
    ['[tree "MOUNT POINT"]', TREE_OPTIONS] as const,
  ]
  const body = sections.map(([name, table]) => `.SS ${roff(name)}\n${optionEntries(table)}`).join('')
  return {
    file: 'efs-home.conf.5',
    text: `${header('efs-home.conf', 5, 'configuration of efs-home', date)}.SH DESCRIPTION\n/etc/efs-home/efs-home.conf (or $EFS_HOME_CONFIG) is an INI file read by every efs-home command. Durations are seconds or take a unit (30s, 5m, 2h, 7d). \\fBefs-home config check\\fR checks it; \\fBefs-home config options\\fR prints this table.\n.SH OPTIONS\n${body}${seeAlso('efs-home.conf')}`,
  }
}
