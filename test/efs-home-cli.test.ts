// efs-home lookup / config, called in-process through main().

import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../src/cli/efs-home.js'
import { optionsMarkdown } from '../src/cli/commands/config.js'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { runMain } from './fixtures/in-process.js'
import { EFS_HOME_BIN, ROOT, runNode } from './fixtures/run.js'
import { startSlapd } from './fixtures/slapd.js'

const slapd = await startSlapd(t, [{ uid: 'alice', home: '/import/nw-syd-efs1/1/alice' }])
const { file } = writeConfig(t, siteConfig([`ldap://127.0.0.1:1`, slapd.url], '{dir}'))

const efsHome = (args: string[], configFile = file) => runMain(main, args, configFile)

t.test('lookup explains each step', async (t) => {
  const r = await efsHome(['lookup', 'alice'])
  t.equal(r.code, 0)
  t.match(r.out, /^config +.*efs-home\.conf$/m)
  t.match(r.out, /^tree +\/home \(homeDirectory\)$/m)
  t.match(r.out, /^answered by +the Node map this time; it starts the agent on 127\.0\.0\.1:\d+ for the next lookups$/m)
  t.match(
    r.out,
    /^directory +ldap:\/\/127\.0\.0\.1:1 failed \(.*ECONNREFUSED.*\) in \d+ ms; ldap:\/\/127\.0\.0\.1:\d+ answered in \d+ ms$/m,
  )
  t.match(r.out, /^location +\/import\/nw-syd-efs1\/1\/alice: server nw-syd-efs1, export 1, path alice$/m)
  t.match(r.out, /^classification +nw-syd-efs1 is EFS \(by host_pattern, file system unknown, region us-east-1\)$/m)
  t.match(r.out, /^host +nw-syd-efs1 \(alias\)$/m)
  t.match(r.out, /^entry +-fstype=nfs4,nfsvers=4\.1.* nw-syd-efs1:\/1\/alice$/m)
})

t.test('lookup --json', async (t) => {
  const ok = JSON.parse((await efsHome(['lookup', 'alice', '--json'])).out)
  t.match(ok, {
    key: 'alice',
    tree: '/home',
    ok: true,
    answeredBy: /^the Node map this time/,
    source: 'ldap',
    entry: /nw-syd-efs1:\/1\/alice$/,
  })
  t.same(
    ok.steps.map((s: { step: string }) => s.step),
    ['directory', 'location', 'classification', 'host', 'entry'],
  )
  t.match(ok.steps[3], { host: 'nw-syd-efs1', source: 'alias' })
  const r = await efsHome(['lookup', 'nobody', '--json'])
  t.equal(r.code, 1)
  t.match(JSON.parse(r.out), { ok: false, error: { code: 'NOT_FOUND' } })
  const refused = await efsHome(['lookup', '*'])
  t.equal(refused.code, 1)
  t.match(refused.out, /^result +no entry: refused key "\*".*\[KEY\]$/m)
})

t.test('config check', async (t) => {
  t.match(await efsHome(['config', 'check']), { code: 0, out: /efs-home\.conf: ok \(2 LDAP server\(s\), 2 \[server\] section\(s\)\)/ })
  const bad = writeConfig(t, '[ldap]\nuri = ldap://x\nbase = b\n[efs]\nregion = mars\n')
  t.match(await efsHome(['config', 'check'], bad.file), {
    code: 2,
    err: /^efs-home: config check: \[efs\] region: 'mars' is not an AWS region .*\(.*\)$/,
  })
})

t.test('the README documents every option, as declared', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  t.ok(readme.includes(optionsMarkdown()), 'README option table is `efs-home config options` (regenerate it)')
  t.match((await efsHome(['config', 'options'])).out, /^\| \[ldap\] \| `uri` \| \(required\) \|/m)
})

t.test('usage', async (t) => {
  t.match(await efsHome(['frobnicate']), { code: 2, err: /Unknown argument: frobnicate/ })
  t.match(await efsHome([]), { code: 2, err: /a command is needed/ })
  const help = await runNode(EFS_HOME_BIN, ['--help'], { PATH: process.env.PATH })
  t.equal(help.code, 0)
  t.match(help.stdout, /efs-home lookup <user>/)
  t.match(help.stdout, /efs-home config/)
})
