// efs-home config check | options

import { configFilePath } from '../../config/ini-file.js'
import { loadConfig } from '../../config/load.js'
import type { Option } from '../../config/option.js'
import { OPTIONS, SERVER_OPTIONS, TREE_OPTIONS } from '../../config/options.js'
import { EXIT } from '../exit.js'
import type { Output } from '../output.js'

export async function configCheck(out: Output): Promise<number> {
  const config = loadConfig(configFilePath())
  out.out(`${config.file}: ok (${config.ldap.uri.length} LDAP server(s), ${config.servers.size} [server] section(s))`)
  return EXIT.ok
}

function rows(section: string, table: Record<string, Option<unknown>>): string[] {
  return Object.entries(table).map(([key, spec]) => {
    const def = spec.required ? '(required)' : spec.default === undefined || spec.default === '' ? '(empty)' : `\`${spec.default}\``
    return `| ${section} | \`${key}\` | ${def.replace(/\|/g, '\\|')} | ${spec.description.replace(/\|/g, '\\|')} |`
  })
}

/** The option table as Markdown; the README's copy is checked against this. */
export function optionsMarkdown(): string {
  return [
    '| section | key | default | meaning |',
    '| --- | --- | --- | --- |',
    ...Object.entries(OPTIONS).flatMap(([section, table]) => rows(`[${section}]`, table)),
    ...rows('[server "NAME"]', SERVER_OPTIONS),
    ...rows('[tree "MOUNT POINT"]', TREE_OPTIONS),
  ].join('\n')
}

export async function configOptions(out: Output): Promise<number> {
  out.out(optionsMarkdown())
  return 0
}
