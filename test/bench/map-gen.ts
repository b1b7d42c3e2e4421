// efs-map-gen --from-ldap at fleet scale: wall time and peak RSS against
// the floor of the same work, ldapsearch paging through the same users.

import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EFS_ID, siteConfig, writeConfig } from '../fixtures/config.js'
import { MAP_GEN_BIN } from '../fixtures/run.js'
import type { Owner } from '../fixtures/scratch.js'
import { BASE, startSlapd } from '../fixtures/slapd.js'

export interface MapGenBench {
  readonly users: number
  readonly mapGen: { readonly seconds: number; readonly peakRssMb: number }
  readonly ldapsearch: { readonly seconds: number; readonly peakRssMb: number }
  readonly ratio: number
}

function timed(command: string[], env: NodeJS.ProcessEnv): { seconds: number; peakRssMb: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', ...command], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 30,
  })
  if (r.status !== 0) throw new Error(`${command.join(' ')} failed: ${r.stderr}`)
  const [seconds, kb] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number)
  return { seconds: seconds ?? NaN, peakRssMb: (kb ?? NaN) / 1024 }
}

export async function benchMapGen(owner: Owner, users: number): Promise<MapGenBench> {
  const homes = [
    (i: number) => `/import/nw-syd-efs1/${1 + (i % 7)}/u${i}`,
    (i: number) => `/import/kamen/${1 + (i % 5)}/u${i}`,
    (i: number) => `/import/${EFS_ID}/1/u${i}`,
  ]
  const slapd = await startSlapd(
    owner,
    Array.from({ length: users }, (_, i) => ({ uid: `u${i}`, home: homes[i % homes.length]!(i) })),
  )
  const { file, dir } = writeConfig(owner, siteConfig([slapd.url], '{dir}'))
  writeFileSync(join(dir, 'auto_static.cfg'), 'kamen/1\n')
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', EFS_HOME_CONFIG: file }
  const mapGen = timed(
    [MAP_GEN_BIN, '--from-ldap', '--source', join(dir, 'auto_static.cfg'), '--output', join(dir, 'auto.static'), '--force'],
    env,
  )
  const ldapsearch = timed(
    [
      'ldapsearch',
      '-x',
      '-LLL',
      '-H',
      slapd.url,
      '-b',
      BASE,
      '-E',
      'pr=500/noprompt',
      '(objectClass=posixAccount)',
      'uid',
      'homeDirectory',
    ],
    env,
  )
  return { users, mapGen, ldapsearch, ratio: mapGen.seconds / ldapsearch.seconds }
}
