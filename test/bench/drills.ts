// Resilience drills (pass/fail with counts, not timings to compare): a login
// storm while LDAP goes away, and with the first LDAP URI black-holed.

import { join } from 'node:path'
import { siteConfig, writeConfig } from '../fixtures/config.js'
import { blackHole, runCommand } from '../fixtures/processes.js'
import { storm, type StormResult } from './storm.js'
import { MAP_GEN_BIN, THIN_MAP } from '../fixtures/run.js'
import type { Owner } from '../fixtures/scratch.js'
import { startSlapd } from '../fixtures/slapd.js'

export interface DrillResult {
  readonly name: string
  readonly pass: boolean
  /** What was counted: answered, failed, kills, retries… */
  readonly figures: Record<string, number | string>
}

function stormFigures(r: StormResult): Record<string, number | string> {
  return { answered: r.answered, failed: r.failed, 'slowest lookup': `${r.slowestSeconds.toFixed(2)} s` }
}

const PER_SERVER_TIMEOUT_SECONDS = 1

export async function runDrills(owner: Owner, lookups: number): Promise<DrillResult[]> {
  const users = Array.from({ length: 2000 }, (_, i) => ({ uid: `u${i}`, home: `/import/kamen/${1 + (i % 3)}/u${i}` }))
  const keys = Array.from({ length: lookups }, (_, i) => `u${(i * 7) % users.length}`)
  const results: DrillResult[] = []

  // As automount runs it: the thin map, 50 at a time.
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
    const r = await storm([THIN_MAP], env, keys, 50, async (i) => (i === Math.floor(keys.length / 4) ? slapd.kill() : undefined))
    const name = `LDAP killed mid-storm, ${withCache ? 'fresh cache' : 'no cache'}`
    const pass = withCache ? r.failed === 0 : r.answered <= Math.floor(keys.length / 4) + 50 && r.slowestSeconds < 3 + 2
    results.push({ name, pass, figures: stormFigures(r) })
  }

  // The same storm with and without a black hole first in the list: the
  // difference is what the dead server costs each login.
  const slapd = await startSlapd(owner, users)
  const hole = await blackHole(owner)
  const stormWith = async (uris: string[]) => {
    const { file } = writeConfig(owner, siteConfig(uris, '{dir}', '[home]\ncache_update = false\n'))
    return storm([THIN_MAP], { PATH: process.env.PATH, EFS_HOME_CONFIG: file }, keys, 10)
  }
  const healthy = await stormWith([slapd.url])
  const r = await stormWith([`ldap://127.0.0.1:${hole.port}`, slapd.url])
  const added = r.medianSeconds - healthy.medianSeconds
  results.push({
    name: 'first LDAP URI black-holed (per-server timeout 1 s)',
    // siteConfig's [ldap] timeout is 1 s: no login may pay more than that for the dead server.
    pass: r.failed === 0 && added <= PER_SERVER_TIMEOUT_SECONDS,
    figures: {
      ...stormFigures(r),
      'median lookup': `${r.medianSeconds.toFixed(2)} s`,
      'median without the black hole': `${healthy.medianSeconds.toFixed(2)} s`,
      added: `${added.toFixed(2)} s`,
    },
  })
  return results
}
