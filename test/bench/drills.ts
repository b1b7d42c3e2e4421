// Resilience drills (pass/fail with counts, not timings to compare): a login
// storm while LDAP goes away, and with the first LDAP URI black-holed.

import { join } from 'node:path'
import { siteConfig, writeConfig } from '../fixtures/config.js'
import { blackHole, runCommand } from '../fixtures/processes.js'
import { MAP_BIN, MAP_GEN_BIN } from '../fixtures/run.js'
import type { Owner } from '../fixtures/scratch.js'
import { startSlapd } from '../fixtures/slapd.js'

export interface DrillResult {
  readonly name: string
  readonly lookups: number
  readonly answered: number
  readonly failed: number
  readonly slowestSeconds: number
  readonly pass: boolean
}

/** `count` lookups, `concurrency` at a time; `during(i)` runs before lookup i starts. */
async function storm(env: NodeJS.ProcessEnv, users: string[], concurrency: number, during: (i: number) => Promise<void> = async () => undefined) {
  let next = 0
  let answered = 0
  let failed = 0
  let slowest = 0
  const worker = async () => {
    while (next < users.length) {
      const i = next++
      await during(i)
      const started = Date.now()
      const r = await runCommand(MAP_BIN, [users[i]!], env)
      slowest = Math.max(slowest, (Date.now() - started) / 1000)
      if (r.code === 0 && r.stdout !== '') answered++
      else failed++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { answered, failed, slowest }
}

export async function runDrills(owner: Owner, lookups: number): Promise<DrillResult[]> {
  const users = Array.from({ length: 2000 }, (_, i) => ({ uid: `u${i}`, home: `/import/kamen/${1 + (i % 3)}/u${i}` }))
  const keys = Array.from({ length: lookups }, (_, i) => `u${(i * 7) % users.length}`)
  const results: DrillResult[] = []

  for (const withCache of [true, false]) {
    const slapd = await startSlapd(owner, users)
    const { file, dir } = writeConfig(owner, siteConfig([slapd.url], '{dir}', '[home]\ndeadline = 3\n'))
    const env = { PATH: process.env.PATH, EFS_HOME_CONFIG: file }
    if (withCache) {
      const source = join(dir, 'auto_static.cfg')
      await runCommand('sh', ['-c', `echo kamen/1 > ${source}`], env)
      await runCommand(MAP_GEN_BIN, ['--from-ldap', '--source', source, '--output', join(dir, 'auto.static')], env)
    }
    // LDAP stops a quarter of the way through the storm.
    const r = await storm(env, keys, 10, async (i) => (i === Math.floor(keys.length / 4) ? slapd.kill() : undefined))
    const name = `LDAP killed mid-storm, ${withCache ? 'fresh cache' : 'no cache'}`
    const pass = withCache ? r.failed === 0 : r.answered <= Math.floor(keys.length / 4) + 10 && r.slowest < 3 + 2
    results.push({ name, lookups: keys.length, answered: r.answered, failed: r.failed, slowestSeconds: r.slowest, pass })
  }

  const slapd = await startSlapd(owner, users)
  const hole = await blackHole(owner)
  const { file } = writeConfig(owner, siteConfig([`ldap://127.0.0.1:${hole.port}`, slapd.url], '{dir}', '[home]\ncache_update = false\n'))
  const r = await storm({ PATH: process.env.PATH, EFS_HOME_CONFIG: file }, keys, 10)
  results.push({ name: 'first LDAP URI black-holed', lookups: keys.length, answered: r.answered, failed: r.failed, slowestSeconds: r.slowest, pass: r.failed === 0 })
  return results
}
