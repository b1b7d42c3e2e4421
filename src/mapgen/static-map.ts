// The lines of /etc/auto.static: one per export, `<import_root>/<server>/<export>`
// and the entry from the same builder the program map uses (TLS exports with
// their file system's proxy port).

import type { Config } from '../config/load.js'
import { EfsHomeError, oneLine } from '../errors.js'
import { buildEntry, formatEntry } from '../mount/entry.js'
import { formatMountOptions } from '../mount/options.js'
import { proxyTarget, usesTls } from '../proxy/target.js'
import { classifyServer } from '../servers/classify.js'
import type { StaticExport } from './static-cfg.js'

export interface StaticMapLine {
  readonly key: string
  readonly entry: string
}

/**
 * Declarations from auto_static.cfg come first and win over the same export
 * found in LDAP; the same export twice in the file with different options is
 * an error. Sorted by key, so the same inputs give the same bytes.
 */
export function buildStaticMap(config: Config, exports: readonly StaticExport[], proxyPorts: ReadonlyMap<string, number>): StaticMapLine[] {
  const chosen = new Map<string, StaticExport>()
  for (const exp of exports) {
    const key = `${config.home.import_root === '/' ? '' : config.home.import_root}/${exp.server}/${exp.export}`
    const earlier = chosen.get(key)
    if (earlier === undefined) {
      chosen.set(key, exp)
    } else if (
      exp.origin !== 'LDAP' &&
      earlier.origin !== 'LDAP' &&
      formatMountOptions(earlier.options ?? []) !== formatMountOptions(exp.options ?? [])
    ) {
      throw new EfsHomeError(
        'CONFIG',
        `${exp.origin}: ${exp.server}/${exp.export} is already declared with other options at ${earlier.origin}`,
      )
    }
  }
  return [...chosen.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, exp]) => {
      try {
        const server = classifyServer(config, exp.server)
        const port = server.kind === 'efs' && usesTls(config, server) ? proxyPorts.get(proxyTarget(config, server).fsId) : undefined
        const target = { export: exp.export, ...(exp.options === undefined ? {} : { options: exp.options }) }
        return { key, entry: formatEntry(buildEntry(config, server, target, { proxyPort: port })) }
      } catch (err) {
        throw new EfsHomeError('ENTRY', `${exp.origin}: ${exp.server}/${exp.export}: ${oneLine(err)}`)
      }
    })
}
