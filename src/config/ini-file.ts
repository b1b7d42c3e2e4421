// The config file as ini sections: where it is, and its text decoded with
// `ini` (server names with dots intact), before any option is checked.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { ConfigError, errnoCode } from '../errors.js'

// ini is CommonJS: importing it from ESM makes Node scan it for named exports,
// which costs every lookup about 5 ms; require() does not.
const { decode } = createRequire(import.meta.url)('ini') as typeof import('ini')

const DEFAULT_CONFIG_FILE = '/etc/efs-home/efs-home.conf'

export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.EFS_HOME_CONFIG
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONFIG_FILE
}

export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    const code = errnoCode(err)
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message
    throw new ConfigError(file, `cannot read the config file: ${why}; set EFS_HOME_CONFIG or create it`)
  }
}

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

/** Section name -> its raw key/value pairs. */
export function decodeSections(file: string, text: string): Record<string, Record<string, unknown>> {
  let decoded: Record<string, unknown>
  try {
    decoded = decode(escapeSectionDots(file, text)) as Record<string, unknown>
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(file, `cannot parse: ${(err as Error).message}`)
  }
  for (const [name, body] of Object.entries(decoded)) {
    if (typeof body !== 'object' || body === null) throw new ConfigError(file, `key '${name}' is outside any section`)
  }
  return decoded as Record<string, Record<string, unknown>>
}
