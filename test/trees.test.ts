// Per-user trees besides /home (/web, a sub-path tree), served by the one
// program map, which knows the tree by its working directory (automount runs
// it in the mount point). Real slapd with a site schema; every map, the
// agent and the in-process lookup agree; hostile keys and values in every
// tree; a user without the attribute has no entry there.

import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../src/config/load.js'
import { main as mapMain } from '../src/cli/map.js'
import { main as efsHomeMain } from '../src/cli/efs-home.js'
import { agentsFor } from './fixtures/agents.js'
import { BAD_KEYS } from './fixtures/bad-input.js'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { runMain } from './fixtures/in-process.js'
import { waitFor } from './fixtures/processes.js'
import { MAP_GEN_BIN, MAPS, type MapKind, mapEnv, runMap, runNode } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'
import { startSlapd } from './fixtures/slapd.js'

const KINDS = Object.keys(MAPS) as MapKind[]
const slapd = await startSlapd(t, [
  { uid: 'alice', home: '/import/nw-syd-efs1/1/alice', web: '/import/kamen/7/alice' },
  { uid: 'bob', home: '/import/kamen/2/bob', web: '/import/nw-syd-efs1/3/bob' },
  { uid: 'carol', home: '/import/kamen/2/carol' },
  { uid: 'mallory', home: '/import/kamen/2/mallory', web: '/import/kamen/7/../../etc' },
])

// Mount points of a scratch directory's: the host's own / is never touched.
const mounts = scratchDir(t, 'mounts')
const WEB = join(mounts, 'web')
const WWW = join(mounts, 'srv/www')
const HOME = join(mounts, 'home') // as if the site's master map put the home tree here: not a tree, so /home
for (const dir of [WEB, WWW, HOME]) mkdirSync(dir, { recursive: true })
const TREES = `[tree "${WEB}"]\nattribute = webDirectory\noptions = ro\n[tree "${WWW}"]\nsub_path = public_html\n`
const { file, dir } = writeConfig(t, siteConfig([slapd.url], '{dir}', TREES))
const { file: alone } = writeConfig(t, siteConfig([slapd.url], '{dir}', `${TREES}[home]\nagent = false\n`))

const EFS = 'nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport'
const expected: [string, string, { code: number; stdout: string; stderr: RegExp | string }][] = [
  [HOME, 'alice', { code: 0, stdout: `-fstype=nfs4,${EFS},nosuid,nodev nw-syd-efs1:/1/alice\n`, stderr: '' }],
  [WEB, 'alice', { code: 0, stdout: '-fstype=nfs,vers=4,ro,nosuid,nodev kamen:/export/kamen/7/alice\n', stderr: '' }],
  [WWW, 'alice', { code: 0, stdout: `-fstype=nfs4,${EFS},nosuid,nodev nw-syd-efs1:/1/alice/public_html\n`, stderr: '' }],
  [WEB, 'bob', { code: 0, stdout: `-fstype=nfs4,${EFS},ro,nosuid,nodev nw-syd-efs1:/3/bob\n`, stderr: '' }],
  [WWW, 'bob', { code: 0, stdout: '-fstype=nfs,vers=4,nosuid,nodev kamen:/export/kamen/2/bob/public_html\n', stderr: '' }],
  // No location in the tree: ENOENT, and not a line in automount's log for every ls.
  [WEB, 'carol', { code: 1, stdout: '', stderr: '' }],
  [WWW, 'carol', { code: 0, stdout: '-fstype=nfs,vers=4,nosuid,nodev kamen:/export/kamen/2/carol/public_html\n', stderr: '' }],
  [
    WEB,
    'mallory',
    {
      code: 1,
      stdout: '',
      stderr: /^efs-home-map: refused home location "\/import\/kamen\/7\/\.\.\/\.\.\/etc": unsafe path component "\.\."\n$/,
    },
  ],
  [WEB, 'nobody', { code: 1, stdout: '', stderr: "efs-home-map: no LDAP entry for 'nobody'\n" }],
]

await runMap('thin', ['alice'], mapEnv(file))
await waitFor('the agent', () => (agentsFor(file).length > 0 ? true : undefined))

for (const kind of KINDS)
  for (const config of [file, alone]) {
    const how = `${kind} map${config === alone ? ', no agent' : ''}`
    t.test(`${how}: each tree's entry, by the mount point it runs in`, async (t) => {
      for (const [mount, key, want] of expected) t.match(await runMap(kind, [key], mapEnv(config), mount), want, `${key} in ${mount}`)
    })
  }

t.test('hostile keys in every tree: refused as the Node map refuses them, before LDAP', async (t) => {
  const searches = slapd.searches()
  // The thin map hands a key that is not a user name to the Node map: one run goes through both.
  for (const mount of [HOME, WEB, WWW])
    for (const key of BAD_KEYS.filter((k) => !k.includes('\0'))) {
      const reference = await runMain((argv, io) => mapMain(argv, io), [key], alone)
      const r = await runMap('thin', [key], mapEnv(file), mount)
      t.same(
        { code: r.code, stdout: r.stdout, stderr: r.stderr.trimEnd() },
        { code: reference.code, stdout: '', stderr: reference.err },
        `${JSON.stringify(key)} in ${mount}`,
      )
    }
  t.equal(slapd.searches(), searches, 'not one search')
})

t.test('efs-home lookup --tree, and a tree the config does not have', async (t) => {
  const web = await runMain(efsHomeMain, ['lookup', '--tree', WEB, 'alice'], file)
  t.match(web, {
    code: 0,
    out: new RegExp(
      `^config .*\\ntree +${WEB} \\(webDirectory\\)\\n[\\s\\S]*entry +-fstype=nfs,vers=4,ro,nosuid,nodev kamen:/export/kamen/7/alice`,
    ),
  })
  const www = await runMain(efsHomeMain, ['lookup', '--tree', WWW, 'bob'], file)
  t.match(www.out, new RegExp(`tree +${WWW} \\(homeDirectory \\+ /public_html\\)`))
  t.match(await runMain(efsHomeMain, ['lookup', '--tree', WEB, 'carol'], file), {
    code: 1,
    out: /result +no entry: 'carol' has no webDirectory \[ABSENT\]/,
  })
  t.match(await runMain(efsHomeMain, ['lookup', '--tree', '/nowhere', 'alice'], file), {
    code: 2,
    err: new RegExp(`^efs-home: lookup: --tree /nowhere: not a tree of .* \\(trees: /home, ${WEB}, ${WWW}\\)$`),
  })
})

t.test('efs-home doctor USER: the lookup in every tree; no location in a tree is not a failure', async (t) => {
  const r = await runMain(efsHomeMain, ['doctor', 'carol', '--json', '--source', '/nonexistent'], file)
  const checks = JSON.parse(r.out) as { check: string; ok: boolean; detail: string }[]
  t.match(
    checks.find((c) => c.check === 'lookup carol'),
    { ok: true, detail: /kamen:\/export\/kamen\/2\/carol$/ },
  )
  t.match(
    checks.find((c) => c.check === `lookup carol in ${WEB}`),
    { ok: true, detail: "no entry: 'carol' has no webDirectory" },
  )
  t.match(
    checks.find((c) => c.check === `lookup carol in ${WWW}`),
    { ok: true, detail: /carol\/public_html$/ },
  )
  t.match(
    checks.find((c) => c.check === `autofs ${WEB}`),
    { ok: false, detail: /efs-home-.*web\.autofs does not name efs-home-map/ },
  )
})

t.test('each tree has its own last-known-good cache, used when LDAP is gone', async (t) => {
  const ldap = await startSlapd(t, [{ uid: 'dave', home: '/import/kamen/2/dave', web: '/import/kamen/7/dave' }])
  const own = writeConfig(t, siteConfig([ldap.url], '{dir}', `${TREES}[home]\nagent = false\n`))
  t.match(await runMap('node', ['dave'], mapEnv(own.file), WEB), { code: 0, stdout: /kamen:\/export\/kamen\/7\/dave\n$/ })
  t.match(await runMap('node', ['dave'], mapEnv(own.file), HOME), { code: 0, stdout: /kamen:\/export\/kamen\/2\/dave\n$/ })
  t.match(
    // the mount point's own '-' is written %2d, so /a-b and /a/b never share a file
    readFileSync(join(own.dir, 'cache', `tree-${WEB.slice(1).replaceAll('-', '%2d').replaceAll('/', '-')}.json`), 'utf8'),
    /"dave":\{"location":"\/import\/kamen\/7\/dave"/,
  )
  await ldap.kill()
  t.match(
    await runMap('node', ['dave'], mapEnv(own.file), WEB),
    { code: 0, stdout: /vers=4,ro,nosuid,nodev kamen:\/export\/kamen\/7\/dave\n$/ },
    '/web from its cache',
  )
  t.match(
    await runMap('node', ['dave'], mapEnv(own.file), HOME),
    { code: 0, stdout: /kamen:\/export\/kamen\/2\/dave\n$/ },
    'the home from its own',
  )
})

t.test('efs-map-gen --from-ldap: the exports of every tree', async (t) => {
  const out = join(dir, 'auto.static')
  const source = join(dir, 'auto_static.cfg')
  writeFileSync(source, '')
  const r = await runNode(MAP_GEN_BIN, ['--source', source, '--output', out, '--from-ldap'], mapEnv(file))
  t.equal(r.code, 0, r.stderr)
  const map = readFileSync(out, 'utf8')
  for (const exp of ['kamen/2', 'nw-syd-efs1/1', 'kamen/7', 'nw-syd-efs1/3']) t.match(map, new RegExp(`^/import/${exp} `, 'm'), exp)
})

t.test('a tree is declared with exactly one source, at a mount point of its own', async (t) => {
  const bad: [string, RegExp][] = [
    ['[tree "/web"]\noptions = ro\n', /\[tree "\/web"\]: needs attribute .* or sub_path .*, exactly one/],
    ['[tree "/web"]\nattribute = webDirectory\nsub_path = x\n', /exactly one/],
    ['[tree "/home/web"]\nsub_path = x\n', /overlaps/],
    ['[tree "/import"]\nsub_path = x\n', /overlaps/],
    ['[tree "web"]\nsub_path = x\n', /mount point: 'web' must be an absolute path/],
    ['[tree "/web"]\nsub_path = ../x\n', /sub_path: '\.\.\/x' must be a path below the home/],
    ['[tree "/web"]\nattribute = web directory\n', /attribute: 'web directory' is not an LDAP attribute name/],
  ]
  for (const [text, why] of bad) {
    const { file: broken } = writeConfig(t, siteConfig([slapd.url], '{dir}', text))
    t.throws(() => loadConfig(broken), why, text)
  }
})
