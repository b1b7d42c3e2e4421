// The built-in demo (npm run demo): a throwaway LDAP directory on loopback,
// a site config, and real lookups through the built commands, the way
// automount and an administrator would run them.

import { spawnSync } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EFS_ID, EFS_MOUNT_TARGET, siteConfig, writeConfig } from '../fixtures/config.js'
import { EFS_HOME_BIN, MAP_BIN, MAP_GEN_BIN, mapEnv, ROOT, runNode } from '../fixtures/run.js'
import type { Owner } from '../fixtures/scratch.js'
import { startSlapd } from '../fixtures/slapd.js'

const cleanups: (() => unknown)[] = []
const owner: Owner = { teardown: (fn) => cleanups.push(fn) }

function heading(text: string): void {
  process.stdout.write(`\n== ${text} ${'='.repeat(Math.max(0, 70 - text.length))}\n`)
}

async function show(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const name = bin === MAP_BIN ? 'efs-home-map' : bin === MAP_GEN_BIN ? 'efs-map-gen' : 'efs-home'
  process.stdout.write(`\n$ ${name} ${args.map((a) => (/^[\w./:=-]+$/.test(a) ? a : `'${a}'`)).join(' ')}\n`)
  const r = await runNode(bin, args, env)
  const indent = (text: string, prefix: string) => `${text.trimEnd().replace(/^/gm, prefix)}\n`
  if (r.stdout !== '') process.stdout.write(indent(r.stdout, '  '))
  if (r.stderr !== '') process.stdout.write(indent(r.stderr, '  stderr: '))
  process.stdout.write(`  (exit ${r.code})\n`)
}

async function demo(): Promise<void> {
  heading('a throwaway LDAP directory on loopback')
  const users = [
    { uid: 'plinich', home: '/import/kamen/1/plinich' },
    { uid: 'plinich99', home: '/import/nw-syd-efs1/1/plinich99' },
    { uid: 'carol', home: `/import/${EFS_ID}/2/carol` },
    { uid: 'dave', home: '/import/kamen.cse.example.edu/3/dave' },
    { uid: 'mallory', home: '/import/kamen/1/../../../etc' },
    { uid: 'looper', home: '/import/127.1/1/looper' },
    ...Array.from({ length: 1000 }, (_, i) => ({ uid: `student${i}`, home: `/import/nw-syd-efs1/${1 + (i % 3)}/student${i}` })),
  ]
  const slapd = await startSlapd(owner, users)
  process.stdout.write(`slapd ${slapd.url}, base ou=People,dc=example,dc=edu, ${users.length} users\n`)

  const { file, dir } = writeConfig(owner, siteConfig([slapd.url], '{dir}', EFS_MOUNT_TARGET))
  const env = mapEnv(file)
  heading(`the site config (${file})`)
  process.stdout.write(`${readFileSync(file, 'utf8').trim().replace(/^/gm, '  ')}\n`)
  await show(EFS_HOME_BIN, ['config', 'check'], env)

  heading('autofs runs the program map for each /home/<user>')
  process.stdout.write(readFileSync(join(ROOT, 'maps/auto.master.d/home.autofs'), 'utf8').replace(/^/gm, '  '))
  for (const user of ['plinich', 'plinich99', 'carol', 'dave', 'student42']) await show(MAP_BIN, [user], env)

  heading('keys and values it refuses (nothing printed, nothing mounted)')
  for (const key of ['nobody', 'mallory', 'looper', 'PLINICH99', '*)(uid=*', '..', '-oremount']) await show(MAP_BIN, [key], env)

  heading('the lookup agent the first lookup started answers the rest')
  await show(EFS_HOME_BIN, ['agent', 'status'], env)
  process.stdout.write(
    '\nThe first lookup found no agent, did its own work and started one; once it listens,\n' +
      'efs-home-map asks it over a root-only socket instead of loading the LDAP client\n' +
      'itself (same code, same answers). [home] agent = false turns it off.\n',
  )

  heading('an administrator asks why')
  await show(EFS_HOME_BIN, ['lookup', 'plinich99'], env)

  heading('efs-map-gen: the static map of every /import/<server>/<export>')
  const source = join(dir, 'auto_static.cfg')
  const output = join(dir, 'auto.static')
  copyFileSync(join(ROOT, 'maps/auto_static.cfg'), source)
  process.stdout.write(readFileSync(join(ROOT, 'maps/auto.master.d/static.autofs'), 'utf8').replace(/^/gm, '  '))
  await show(MAP_GEN_BIN, ['--source', source, '--output', output, '--from-ldap'], env)
  process.stdout.write(`\n${readFileSync(output, 'utf8').replace(/^/gm, '  ')}`)
  await show(MAP_GEN_BIN, ['--source', source, '--output', output, '--from-ldap', '--check'], env)

  heading('efs-home firewall: only root may reach EFS')
  // The demo's EFS names resolve through a private /etc/hosts, in a mount namespace of their own.
  const hosts = join(dir, 'hosts')
  writeFileSync(
    hosts,
    '127.0.0.1 localhost\n10.0.1.25 nw-syd-efs1 nw-syd-efs2\n10.0.1.26 fs-0123456789abcdef0.efs.us-east-1.amazonaws.com\n',
  )
  const rules = spawnSync(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$0" /etc/hosts && exec "$@"',
      hosts,
      process.execPath,
      EFS_HOME_BIN,
      'firewall',
      'render',
      '--source',
      source,
    ],
    { env, encoding: 'utf8' },
  )
  process.stdout.write(
    `\n$ efs-home firewall render --source ${source}\n${rules.stdout.trimEnd().replace(/^/gm, '  ')}\n${rules.stderr.replace(/^(?=.)/gm, '  stderr: ')}  (exit ${rules.status})\n`,
  )
  process.stdout.write(
    '\nefs-home firewall apply loads these (iptables-restore --noflush, one jump from OUTPUT); check compares them\nwith the live rules; remove takes out exactly what apply put in.\n',
  )

  heading('LDAP goes down: answers from the last-known-good cache')
  await slapd.stop()
  await show(MAP_BIN, ['plinich99'], env)
  await show(MAP_BIN, ['student7'], env)
  await show(MAP_BIN, ['mallory'], env)
  process.stdout.write(
    [
      '',
      'efs-map-gen --from-ldap cached every valid user, so the program map still answers for',
      "plinich99 and student7; mallory's unsafe location was never cached. Unknown users get",
      '"not found" within [home] deadline instead of a hung login.',
      '',
    ].join('\n'),
  )
}

try {
  await demo()
} finally {
  for (const fn of cleanups.reverse()) await fn()
}
