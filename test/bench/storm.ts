// Login storms: many lookups, a few at a time, as a lab full of students
// logging in at nine o'clock makes them. The runner is shared with the
// drills; the benchmark runs efs-home-map (the thin map, the Node map, the Node
// map without an agent) and the reference shell map side by side at
// concurrency 1, 10 and 50 on one slapd with 20,000 users, and counts
// what each costs the directory (connections and operations per lookup).

import { join } from 'node:path'
import { siteConfig, writeConfig } from '../fixtures/config.js'
import { runCommand } from '../fixtures/processes.js'
import { EFS_HOME_BIN, MAP_BIN, THIN_MAP } from '../fixtures/run.js'
import type { Owner } from '../fixtures/scratch.js'
import { BASE, type Slapd, startSlapd } from '../fixtures/slapd.js'
import { referenceScript } from './reference.js'

export interface StormResult {
  readonly answered: number
  readonly failed: number
  readonly medianSeconds: number
  readonly slowestSeconds: number
  readonly wallSeconds: number
  /** What the failed lookups said, each distinct line once. */
  readonly errors: readonly string[]
}

/** One lookup per key, `concurrency` at a time; `during(i)` runs before lookup i starts. */
export async function storm(
  command: readonly string[],
  env: NodeJS.ProcessEnv,
  keys: readonly string[],
  concurrency: number,
  during: (i: number) => Promise<void> = async () => undefined,
): Promise<StormResult> {
  let next = 0
  let answered = 0
  let failed = 0
  const seconds: number[] = []
  const errors = new Set<string>()
  const began = Date.now()
  const worker = async () => {
    while (next < keys.length) {
      const i = next++
      await during(i)
      const started = Date.now()
      const r = await runCommand(command[0]!, [...command.slice(1), keys[i]!], env)
      seconds.push((Date.now() - started) / 1000)
      if (r.code === 0 && r.stdout !== '') answered++
      else {
        failed++
        errors.add(r.stderr.trim() || `exit ${r.code}, no output`)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  seconds.sort((a, b) => a - b)
  return {
    answered,
    failed,
    medianSeconds: seconds[seconds.length >> 1] ?? 0,
    slowestSeconds: seconds.at(-1) ?? 0,
    wallSeconds: (Date.now() - began) / 1000,
    errors: [...errors],
  }
}

export interface StormRow {
  readonly concurrency: number
  /** The thin map, as automount runs it: the agent answers. */
  readonly thin: StormResult & LdapCost
  /** The Node map asking the agent. */
  readonly map: StormResult & LdapCost
  /** The map with [home] agent = false: every lookup loads everything. */
  readonly inProcess: StormResult & LdapCost
  readonly reference: StormResult & LdapCost
  /** thin map / reference: wall time and median login. */
  readonly ratio: { readonly wall: number; readonly median: number }
}

interface LdapCost {
  readonly connectionsPerLookup: number
  readonly operationsPerLookup: number
}

const USERS = 20000

async function measured(slapd: Slapd, run: () => Promise<StormResult>, lookups: number): Promise<StormResult & LdapCost> {
  const before = slapd.traffic()
  const r = await run()
  const after = slapd.traffic()
  return {
    ...r,
    connectionsPerLookup: (after.connections - before.connections) / lookups,
    operationsPerLookup: (after.operations - before.operations) / lookups,
  }
}

export async function benchStorm(owner: Owner, lookups: number, levels: readonly number[]): Promise<StormRow[]> {
  const users = Array.from({ length: USERS }, (_, i) => ({
    uid: `u${i}`,
    home: i % 2 === 0 ? `/import/nw-syd-efs1/1/u${i}` : `/import/kamen/2/u${i}`,
  }))
  const slapd = await startSlapd(owner, users)
  const { file, dir } = writeConfig(owner, siteConfig([slapd.url], '{dir}'))
  const { file: noAgent } = writeConfig(owner, siteConfig([slapd.url], '{dir}', '[home]\nagent = false\n'))
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', EFS_HOME_CONFIG: file, LDAP_URI: slapd.url, LDAP_BASE: BASE }
  // Distinct users, spread over the directory, the same for both maps.
  const keys = Array.from({ length: lookups }, (_, i) => `u${(i * 7919) % USERS}`)
  const rows: StormRow[] = []
  for (const concurrency of levels) {
    // The map's own last-known-good cache starts empty at every level.
    await runCommand('rm', ['-f', join(dir, 'cache', 'homes.json')], env)
    // The first lookup of each level finds no agent and starts one, as after a reboot.
    await runCommand(EFS_HOME_BIN, ['agent', 'stop'], env)
    const thin = await measured(slapd, () => storm([THIN_MAP], env, keys, concurrency), lookups)
    await runCommand('rm', ['-f', join(dir, 'cache', 'homes.json')], env)
    const map = await measured(slapd, () => storm([MAP_BIN], env, keys, concurrency), lookups)
    const inProcess = await measured(slapd, () => storm(['env', `EFS_HOME_CONFIG=${noAgent}`, MAP_BIN], env, keys, concurrency), lookups)
    const reference = await measured(slapd, () => storm(['bash', referenceScript()], env, keys, concurrency), lookups)
    rows.push({
      concurrency,
      thin,
      map,
      inProcess,
      reference,
      ratio: { wall: thin.wallSeconds / reference.wallSeconds, median: thin.medianSeconds / reference.medianSeconds },
    })
  }
  return rows
}
