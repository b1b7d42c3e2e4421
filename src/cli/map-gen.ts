// efs-map-gen: regenerates /etc/auto.static. Never leaves a partial or
// emptied map: the new map is built whole first, guarded, then renamed into
// place; with --from-ldap the program map's cache is refreshed the same way.

import yargs from 'yargs'
import { readHomesCache, writeHomesCache } from '../cache/homes-cache.js'
import { loadConfig } from '../config/load.js'
import { oneLine } from '../errors.js'
import { generateStaticMap } from '../mapgen/generate.js'
import { checkDrop } from '../mapgen/guard.js'
import { diffLines } from '../util/diff-lines.js'
import { entryKey, mapEntries } from '../mapgen/render.js'
import { reloadAutomount } from '../mapgen/reload.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { type Output, stdOutput } from './output.js'
import { EXIT, runGuarded } from './exit.js'

export interface MapGenArgs {
  readonly source: string
  readonly output: string
  readonly fromLdap: boolean
  readonly check: boolean
  readonly diff: boolean
  readonly reload: boolean
  readonly force: boolean
  readonly maxDrop: number
  readonly pidFile: string
  readonly timeout: number
  readonly firewall: boolean
}

async function generate(args: MapGenArgs, out: Output): Promise<number> {
  const config = loadConfig()
  const now = Math.floor(Date.now() / 1000)
  const result = await generateStaticMap(config, {
    source: args.source,
    output: args.output,
    fromLdap: args.fromLdap,
    timeout: args.timeout,
    now,
    startProxies: !args.check,
  })
  const changed = result.text !== result.current
  const before = mapEntries(result.current ?? '')
  const after = mapEntries(result.text)
  if (args.diff) for (const line of diffLines(before, after)) out.out(line)
  const ldap = result.ldap
  const skipped =
    ldap === undefined
      ? []
      : ([
          [ldap.invalid.length, 'with an unsafe location'],
          [ldap.ambiguous.length, 'in more than one entry'],
          [ldap.incomplete, 'without a single name and location'],
        ] as const)
  for (const [count, why] of skipped) if (count > 0) out.err(`efs-map-gen: skipped ${count} LDAP user(s) ${why}`)
  if (args.check) {
    out.out(`${args.output}: ${changed ? 'would change' : 'up to date'} (${result.exports.total} exports)`)
    return changed ? EXIT.no : EXIT.ok
  }
  if (!args.force) {
    checkDrop(args.output, before.map(entryKey), after.map(entryKey), args.maxDrop)
    if (ldap !== undefined)
      checkDrop(config.home.cache_file, [...readHomesCache(config.home.cache_file).keys()], [...ldap.cache.keys()], args.maxDrop)
  }
  if (changed) writeFileAtomic(args.output, result.text)
  if (ldap !== undefined) writeHomesCache(config.home.cache_file, ldap.cache, { at: now })
  const origin = `${result.exports.fromSource} declared in ${args.source}${ldap === undefined ? '' : `, ${result.exports.fromLdap} found among ${ldap.users} LDAP users at ${ldap.uri}`}`
  out.out(`${args.output}: ${changed ? 'written' : 'unchanged'}, ${result.exports.total} exports (${origin})`)
  if (ldap !== undefined) out.out(`${config.home.cache_file}: ${ldap.cache.size} users`)
  if (changed && args.reload) {
    const how = reloadAutomount(args.pidFile)
    out.out(
      how === 'not running'
        ? 'automount is not running; it reads the new map when it starts'
        : `automount told to re-read its maps (${how === 'signalled' ? 'SIGHUP' : 'systemctl reload autofs'})`,
    )
  }
  return args.firewall ? refreshFirewall(args.source, out) : EXIT.ok
}

/** The exports may name new EFS servers: load the firewall rules again (idempotent). */
async function refreshFirewall(source: string, out: Output): Promise<number> {
  const { firewallCommand } = await import('./commands/firewall.js')
  const code = await firewallCommand('apply', { source }, out)
  return code === 0 ? EXIT.ok : EXIT.failed
}

export async function main(argv: readonly string[], out: Output = stdOutput): Promise<number> {
  let code: number = EXIT.ok
  await yargs([...argv])
    .scriptName('efs-map-gen')
    .usage(
      '$0 [options]\n\nRegenerates the static automount map of every /import/<server>/<export> from auto_static.cfg (and, with --from-ldap, from every home location in LDAP). Exit status: 0 done or up to date; 1 --check found it would change; 2 error (files left as they were).',
    )
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .options({
      source: { type: 'string', default: '/etc/auto_static.cfg', describe: 'exports, one <server>/<export> [options] per line' },
      output: { type: 'string', default: '/etc/auto.static', describe: 'the direct map to write' },
      'from-ldap': {
        type: 'boolean',
        default: false,
        describe: 'add every export that holds a home in LDAP, and refresh the lookup cache',
      },
      check: { type: 'boolean', default: false, describe: 'write nothing; exit 0 if up to date, 1 if it would change' },
      diff: { type: 'boolean', default: false, describe: 'print the lines that would go (-) and come (+)' },
      reload: { type: 'boolean', default: false, describe: 'when the map changed, tell automount to re-read it' },
      force: { type: 'boolean', default: false, describe: 'write even if more than --max-drop percent of entries would go' },
      'max-drop': { type: 'number', default: 25, describe: 'largest share of existing entries (percent) a run may remove' },
      'pid-file': { type: 'string', default: '/run/autofs.pid', describe: "automount's pid file, for --reload" },
      timeout: { type: 'number', default: 300, describe: 'seconds allowed for the LDAP enumeration' },
      firewall: {
        type: 'boolean',
        default: false,
        describe: 'then re-apply the firewall rules (efs-home firewall apply) for the same source',
      },
    })
    .check((a) => {
      for (const name of ['source', 'output', 'pid-file', 'max-drop', 'timeout']) {
        if (Array.isArray(a[name])) throw new Error(`--${name} is given more than once`)
      }
      if (!(a['max-drop'] >= 0 && a['max-drop'] <= 100)) throw new Error('--max-drop must be a percentage from 0 to 100')
      if (!(a.timeout > 0)) throw new Error('--timeout must be a positive number of seconds')
      return true
    })
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      out.err(`efs-map-gen: ${msg ?? oneLine(err)} (see efs-map-gen --help)`)
      code = EXIT.failed
    })
    .exitProcess(false)
    .parseAsync()
    .then(async (a) => {
      if (code !== EXIT.ok || a.help === true) return
      const args = {
        source: a.source,
        output: a.output,
        fromLdap: a['from-ldap'],
        check: a.check,
        diff: a.diff,
        reload: a.reload,
        force: a.force,
        maxDrop: a['max-drop'],
        pidFile: a['pid-file'],
        timeout: a.timeout,
        firewall: a.firewall,
      }
      code = await runGuarded('efs-map-gen', out, () => generate(args, out))
    })
  return code
}
