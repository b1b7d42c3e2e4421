// Lookup latency: efs-home-map (the thin map automount runs, the Node map it
// hands over to, and the Node map with no agent) against the shell program map
// a site would write (shared/reference/autofs_home.sh) and against
// `node -e 0`, the runtime's own floor, side by side in one run, on one slapd
// with 20,000 users. Medians of interleaved runs; ratios are what to compare
// across versions. CPU per lookup counts every process on the machine (the
// maps, the agent, ldapsearch, slapd) from /proc/stat.

import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { siteConfig, writeConfig } from '../fixtures/config.js'
import { runCommand, waitFor } from '../fixtures/processes.js'
import { rssMb } from '../fixtures/proc.js'
import { EFS_HOME_BIN, MAP_BIN, THIN_MAP } from '../fixtures/run.js'
import { type Owner, scratchDir } from '../fixtures/scratch.js'
import { BASE, startSlapd } from '../fixtures/slapd.js'
import { referenceScript } from './reference.js'
import { storm } from './storm.js'

export interface LookupBench {
  readonly runs: number
  readonly medianMs: Record<string, number>
  /** CPU time of every process on the machine per lookup, in ms. */
  readonly cpuMsPerLookup: Record<string, number>
  readonly ratios: Record<string, number>
  readonly peakRssKb: Record<string, number>
  readonly soak: Soak
}

export interface Soak {
  readonly lookups: number
  readonly failed: number
  /** The agent after each tenth of the lookups. */
  readonly samples: readonly { readonly after: number; readonly rssMb: number; readonly openFiles: number }[]
  /** The agent's high-water mark (VmHWM) at the end: its largest RSS over the whole soak, between samples too. */
  readonly peakRssMb: number
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
function interleaved(
  commands: Record<string, string[]>,
  runs: number,
  env: NodeJS.ProcessEnv,
  cwds: Record<string, string> = {},
): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((n) => [n, []]))
  for (let run = -WARMUP_RUNS; run < runs; run++) {
    for (const [name, argv] of Object.entries(commands)) {
      const started = process.hrtime.bigint()
      spawnSync(argv[0]!, argv.slice(1), { env, stdio: 'ignore', cwd: cwds[name] })
      if (run >= 0) times[name]!.push(Number(process.hrtime.bigint() - started) / 1e6)
    }
  }
  return Object.fromEntries(Object.entries(times).map(([name, ms]) => [name, ms.sort((a, b) => a - b)[ms.length >> 1] ?? NaN]))
}

const WARMUP_RUNS = 5

/** Busy CPU time of the whole machine so far, in ms (/proc/stat: every field but idle and iowait). */
function machineBusyMs(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
  const busy = fields.reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0)
  return busy * 10 // USER_HZ is 100 on Linux
}

/** CPU ms per lookup of each command, batches of `batch` taking turns `rounds` times. */
function cpuPerLookup(commands: Record<string, string[]>, batch: number, rounds: number, env: NodeJS.ProcessEnv): Record<string, number> {
  const spent: Record<string, number> = Object.fromEntries(Object.keys(commands).map((n) => [n, 0]))
  for (let round = 0; round < rounds; round++) {
    for (const [name, argv] of Object.entries(commands)) {
      const before = machineBusyMs()
      for (let i = 0; i < batch; i++) spawnSync(argv[0]!, argv.slice(1), { env, stdio: 'ignore' })
      spent[name]! += machineBusyMs() - before
    }
  }
  return Object.fromEntries(Object.entries(spent).map(([name, ms]) => [name, ms / (batch * rounds)]))
}

/** The agent's RSS and open files while `lookups` distinct lookups go through the thin map, 20 at a time. */
async function soak(agentPid: () => number, env: NodeJS.ProcessEnv, lookups: number): Promise<Soak> {
  const samples: { after: number; rssMb: number; openFiles: number }[] = []
  const sample = (after: number) => {
    const pid = agentPid()
    samples.push({ after, rssMb: rssMb(pid), openFiles: readdirSync(`/proc/${pid}/fd`).length })
  }
  const keys = Array.from({ length: lookups }, (_, i) => `u${(i * 7919) % USERS}`)
  const tenth = Math.max(1, Math.floor(lookups / 10))
  sample(0)
  const r = await storm([THIN_MAP], env, keys, 20, async (i) => {
    if (i > 0 && i % tenth === 0) sample(i)
  })
  sample(lookups)
  return { lookups, failed: r.failed, samples, peakRssMb: rssMb(agentPid(), 'VmHWM') }
}

export async function benchLookup(owner: Owner, runs: number, soakLookups: number): Promise<LookupBench> {
  const users = Array.from({ length: USERS }, (_, i) => ({
    uid: `u${i}`,
    home: i % 2 === 0 ? `/import/nw-syd-efs1/1/u${i}` : `/import/kamen/2/u${i}`,
    web: `/import/kamen/7/u${i}`,
  }))
  const slapd = await startSlapd(owner, users)
  // A second tree, /web from its own attribute, at a mount point of a scratch directory's.
  const web = join(scratchDir(owner, 'web'), 'web')
  mkdirSync(web)
  const { file, dir } = writeConfig(owner, siteConfig([slapd.url], '{dir}', `[tree "${web}"]\nattribute = webDirectory\n`))
  const { file: noAgent } = writeConfig(owner, siteConfig([slapd.url], '{dir}', '[home]\nagent = false\n'))
  const reference = referenceScript()
  // automount's environment, not this shell's: no NODE_OPTIONS, no NODE_EXTRA_CA_CERTS.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', EFS_HOME_CONFIG: file, LDAP_URI: slapd.url, LDAP_BASE: BASE }
  // The in-process variant reads its config from the environment too: through env(1).
  const inProcess = (key: string) => ['env', `EFS_HOME_CONFIG=${noAgent}`, MAP_BIN, key]
  const commands: Record<string, string[]> = {
    floor: ['node', '-e', '0'],
    'thin map': [THIN_MAP, 'u12345'],
    'thin map, /web': [THIN_MAP, 'u12345'],
    'node map': [MAP_BIN, 'u12345'],
    'no agent': inProcess('u12345'),
    reference: ['bash', reference, 'u12345'],
    'thin map, missing user': [THIN_MAP, 'nosuchuser'],
    'node map, missing user': [MAP_BIN, 'nosuchuser'],
    'no agent, missing user': inProcess('nosuchuser'),
    'reference, missing user': ['bash', reference, 'nosuchuser'],
  }
  // Same answer from all before timing anything (the reference adds no nosuid,nodev); the first lookup starts the agent.
  const answer = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8' }).replace(',nosuid,nodev', '')
  const theirs = answer(commands.reference!)
  for (const name of ['thin map', 'node map', 'no agent']) {
    const ours = answer(commands[name]!)
    if (ours !== theirs) throw new Error(`${name} and the reference disagree:\n${ours}${theirs}`)
  }
  const pidFile = join(dir, 'agent', 'agent.pid')
  await waitFor('the lookup agent', () => (existsSync(pidFile) ? true : undefined))
  const agentPid = () => Number(readFileSync(pidFile, 'utf8').split(' ')[0])
  // The thin map's answer is the agent's, not a hand-over's.
  const before = (await runCommand('node', [EFS_HOME_BIN, 'agent', 'status', '--json'], env)).stdout

  const medianMs = interleaved(commands, runs, env, { 'thin map, /web': web })
  if (!execFileSync(THIN_MAP, ['u12345'], { env, cwd: web, encoding: 'utf8' }).endsWith('kamen:/export/kamen/7/u12345\n'))
    throw new Error('the thin map in /web did not answer for /web')
  const cpu = cpuPerLookup(
    { 'thin map': commands['thin map']!, 'node map': commands['node map']!, reference: commands.reference! },
    50,
    Math.max(1, Math.round(runs / 25)),
    env,
  )
  const after = (await runCommand('node', [EFS_HOME_BIN, 'agent', 'status', '--json'], env)).stdout
  const thinAnswered = (s: string) => (JSON.parse(s) as { answeredThin?: number }).answeredThin ?? 0
  if (thinAnswered(after) - thinAnswered(before) < runs)
    throw new Error('the thin map did not take the fast path: see efs-home agent status')
  const m = (name: string) => medianMs[name] ?? NaN

  return {
    runs,
    medianMs,
    cpuMsPerLookup: cpu,
    ratios: {
      'thin map / reference': m('thin map') / m('reference'),
      'thin map / reference, missing user': m('thin map, missing user') / m('reference, missing user'),
      'thin map, /web / reference': m('thin map, /web') / m('reference'),
      'thin map CPU / reference CPU': (cpu['thin map'] ?? NaN) / (cpu.reference ?? NaN),
      'node map / reference': m('node map') / m('reference'),
      'no agent / reference': m('no agent') / m('reference'),
      'node map / floor': m('node map') / m('floor'),
    },
    peakRssKb: {
      'thin map': peakRss(commands['thin map']!, env),
      'node map': peakRss(commands['node map']!, env),
      'no agent': peakRss(commands['no agent']!, env),
      agent: rssMb(agentPid(), 'VmHWM') * 1024,
      reference: peakRss(commands.reference!, env),
      floor: peakRss(commands.floor!, env),
    },
    soak: await soak(agentPid, env, soakLookups),
  }
}
