// /etc/auto_static.cfg: the exports every host mounts under /import, one per
// line as `<server>/<export> [mount options]`; `#` starts a comment.

import { existsSync, readFileSync } from 'node:fs'
import { EfsHomeError, oneLine } from '../errors.js'
import { isPathComponent, isServerName } from '../location/location.js'
import { type MountOption, parseMountOptions } from '../mount/options.js'

export interface StaticExport {
  readonly server: string
  readonly export: string
  /** Replace the server's configured options for this export. */
  readonly options?: readonly MountOption[]
  /** Where it was declared, for messages: `file:line`, or `LDAP`. */
  readonly origin: string
}

export function parseStaticCfg(file: string, text: string): StaticExport[] {
  const exports: StaticExport[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim()
    if (line === '') return
    const origin = `${file}:${i + 1}`
    const fail = (why: string): never => {
      throw new EfsHomeError('CONFIG', `${origin}: ${why}`)
    }
    const [pair = '', options, extra] = line.split(/\s+/)
    if (extra !== undefined) fail(`expected '<server>/<export> [options]', found '${line}'`)
    const parts = pair.split('/')
    if (parts.length !== 2) fail(`'${pair}' is not <server>/<export>`)
    const [server = '', exp = ''] = parts
    if (!isServerName(server)) fail(`'${server}' is not a host name`)
    if (!isPathComponent(exp)) fail(`'${exp}' is not a plain export name (letters, digits and . _ @ + -)`)
    let parsed: MountOption[] | undefined
    try {
      parsed = options === undefined ? undefined : parseMountOptions(options)
    } catch (err) {
      fail(oneLine(err))
    }
    exports.push({ server, export: exp, ...(parsed === undefined ? {} : { options: parsed }), origin })
  })
  return exports
}

export function readStaticCfg(file: string): StaticExport[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new EfsHomeError('CONFIG', `cannot read ${file}: ${oneLine(err)}`)
  }
  return parseStaticCfg(file, text)
}

/** The exports of `file`, or none when there is no such file (it is optional for the firewall and doctor). */
export function readStaticCfgIfPresent(file: string): StaticExport[] {
  return existsSync(file) ? readStaticCfg(file) : []
}
