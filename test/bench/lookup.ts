// Lookup latency: efs-home-map against the shell program map a site would
// write (shared/reference/autofs_home.sh) and against `node -e 0`, the
// runtime's own floor — side by side in one run, on one slapd with 20,000
// users. Medians of interleaved runs; ratios are what to compare across versions.

import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { siteConfig, writeConfig } from '../fixtures/config.js'
import { waitFor } from '../fixtures/processes.js'
import { rssMb } from '../fixtures/proc.js'
import { MAP_BIN } from '../fixtures/run.js'
import type { Owner } from '../fixtures/scratch.js'
import { BASE, startSlapd } from '../fixtures/slapd.js'
import { referenceScript } from './reference.js'

export interface LookupBench {
  readonly runs: number
  readonly medianMs: Record<string, number>
  readonly ratios: Record<string, number>
  readonly peakRssKb: Record<string, number>
}

const USERS = 20000

function peakRss(command: string[], env: NodeJS.ProcessEnv): number {
  let peak = 0
  for (let i = 0; i < 5; i++) {
    const { stderr } = spawnSync('/usr/bin/time', ['-f', '%M', ...command], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] })
    peak = Math.max(peak, Number(stderr.trim().split('\n').pop()))
  }
  return peak
}

/**
 * Median wall time of each command, the commands taking turns run after run:
 * this machine's slow spells then hit every command alike, where timing one
 * command's runs back to back (as hyperfine does) lets them land on one.
 */
function interleaved(commands: Record<string, string[]>, runs: number, env: NodeJS.ProcessEnv): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((n) => [n, []]))
  for (let run = -WARMUP_RUNS; run < runs; run++) {
    for (const [name, argv] of Object.entries(commands)) {
      const started = process.hrtime.bigint()
      spawnSync(argv[0]!, argv.slice(1), { env, stdio: 'ignore' })
      if (run >= 0) times[name]!.push(Number(process.hrtime.bigint() - started) / 1e6)
    }
  }
  return Object.fromEntries(Object.entries(times).map(([name, ms]) => [name, ms.sort((a, b) => a - b)[ms.length >> 1] ?? NaN]))
}

const WARMUP_RUNS = 5

export async function benchLookup(owner: Owner, runs: number): Promise<LookupBench> {
  const users = Array.from({ length: USERS }, (_, i) => ({
    uid: `u${i}`,
    home: i % 2 === 0 ? `/import/nw-syd-efs1/1/u${i}` : `/import/kamen/2/u${i}`,
  }))
  const slapd = await startSlapd(owner, users)
  const { file, dir } = writeConfig(owner, siteConfig([slapd.url], '{dir}'))
  const { file: noAgent } = writeConfig(owner, siteConfig([slapd.url], '{dir}', '[home]\nagent = false\n'))
  const reference = referenceScript()
  // automount's environment, not this shell's: no NODE_OPTIONS, no NODE_EXTRA_CA_CERTS.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', EFS_HOME_CONFIG: file, LDAP_URI: slapd.url, LDAP_BASE: BASE }
  // The in-process variant reads its config from the environment too: through env(1).
  const inProcess = (key: string) => ['env', `EFS_HOME_CONFIG=${noAgent}`, MAP_BIN, key]
  const commands: Record<string, string[]> = {
    floor: ['node', '-e', '0'],
    map: [MAP_BIN, 'u12345'],
    'map, no agent': inProcess('u12345'),
    reference: ['bash', reference, 'u12345'],
    'map, missing user': [MAP_BIN, 'nosuchuser'],
    'map, no agent, missing user': inProcess('nosuchuser'),
    'reference, missing user': ['bash', reference, 'nosuchuser'],
  }
  // Same answer from all before timing anything; the first lookup starts the agent.
  const ours = execFileSync(MAP_BIN, ['u12345'], { env, encoding: 'utf8' })
  const theirs = execFileSync('bash', [reference, 'u12345'], { env, encoding: 'utf8' })
  const alone = execFileSync(inProcess('u12345')[0]!, inProcess('u12345').slice(1), { env, encoding: 'utf8' })
  if (ours !== theirs || alone !== theirs) throw new Error(`map and reference disagree:\n${ours}${alone}${theirs}`)
  await waitFor('the lookup agent', () => (existsSync(join(dir, 'agent.sock.pid')) ? true : undefined))

  const medianMs = interleaved(commands, runs, env)
  const m = (name: string) => medianMs[name] ?? NaN

  return {
    runs,
    medianMs,
    ratios: {
      'map / reference': m('map') / m('reference'),
      'map / floor': m('map') / m('floor'),
      'map, no agent / floor': m('map, no agent') / m('floor'),
      'map, no agent / reference': m('map, no agent') / m('reference'),
      'map / reference, missing user': m('map, missing user') / m('reference, missing user'),
    },
    peakRssKb: {
      map: peakRss(commands.map!, env),
      'map, no agent': peakRss(commands['map, no agent']!, env),
      agent: rssMb(Number(readFileSync(join(dir, 'agent.sock.pid'), 'utf8').trim()), 'VmHWM') * 1024,
      reference: peakRss(commands.reference!, env),
      floor: peakRss(commands.floor!, env),
    },
  }
}
