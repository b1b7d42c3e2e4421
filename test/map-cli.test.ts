// efs-home-map as automount runs it: the built program in its own process.

import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { MAP_BIN, MAPS, mapEnv, ROOT, runMap, runNode } from './fixtures/run.js'
import { waitFor } from './fixtures/processes.js'
import { scratchDir } from './fixtures/scratch.js'
import { startSlapd } from './fixtures/slapd.js'

const EFS_OPTS = 'nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,nosuid,nodev'
const slapd = await startSlapd(t, [
  { uid: 'alice', home: '/import/nw-syd-efs1/1/alice' },
  { uid: 'bob', home: '/import/kamen/2/bob' },
  { uid: 'mallory', home: '/import/kamen/2/../../../etc' },
])
const { file, dir } = writeConfig(t, siteConfig([slapd.url], '{dir}'))
const { file: noAgent } = writeConfig(t, siteConfig([slapd.url], '{dir}', '[home]\nagent = false\n'))

// The contract holds whoever answers: the resident agent (the default; the
// first lookup starts it) asked by the thin map or by the Node map, or the
// Node map itself.
await runNode(MAP_BIN, ['bob'], mapEnv(file))
await waitFor('the agent', () => (existsSync(join(dir, 'agent', 'agent.pid')) ? true : undefined))
for (const [how, kind, config] of [
  ['thin map, answered by the agent', 'thin', file],
  ['Node map, answered by the agent', 'node', file],
  ['thin map, agent off: answered by the Node map', 'thin', noAgent],
  ['Node map, agent off: answered in-process', 'node', noAgent],
] as const) {
  t.test(`${how}: a known user: one entry line on stdout, nothing on stderr, exit 0`, async (t) => {
    const alice = await runMap(kind, ['alice'], mapEnv(config))
    t.same(alice, { code: 0, stdout: `-fstype=nfs4,${EFS_OPTS} nw-syd-efs1:/1/alice\n`, stderr: '' })
    const bob = await runMap(kind, ['bob'], mapEnv(config))
    t.same(bob, { code: 0, stdout: '-fstype=nfs,vers=4,nosuid,nodev kamen:/export/kamen/2/bob\n', stderr: '' })
  })

  t.test(`${how}: no entry: nothing on stdout, one line on stderr, exit 1`, async (t) => {
    const cases: [string, RegExp][] = [
      ['nobody', /^efs-home-map: no LDAP entry for 'nobody'\n$/],
      // uid matches case-insensitively in LDAP: ALICE finds alice's entry, and must not get her home.
      [
        'ALICE',
        /^efs-home-map: no user 'ALICE': the LDAP entry that matched \(uid=alice,ou=People,dc=example,dc=edu\) has uid \["alice"\], not exactly 'ALICE'\n$/,
      ],
      ['Bob', /^efs-home-map: no user 'Bob': /],
      ['mallory', /^efs-home-map: refused home location "\/import\/kamen\/2\/\.\.\/\.\.\/\.\.\/etc": unsafe path component "\.\."\n$/],
      ['--help', /^efs-home-map: refused key "--help": not a user name/],
      ['-o', /^efs-home-map: refused key "-o"/],
      ['*', /^efs-home-map: refused key "\*"/],
      ['a\nb', /^efs-home-map: refused key "a\\nb": [^\n]*\n$/],
    ]
    const searches = slapd.searches()
    for (const [key, stderr] of cases) {
      const r = await runMap(kind, [key], mapEnv(config))
      t.equal(r.code, 1, JSON.stringify(key))
      t.equal(r.stdout, '', 'nothing automount could mount')
      t.match(r.stderr, stderr)
    }
    t.equal(slapd.searches(), searches + 4, 'only the plausible names were searched')
  })
}

t.test('usage errors never print to stdout', async (t) => {
  for (const kind of Object.keys(MAPS) as (keyof typeof MAPS)[])
    for (const args of [[], ['alice', 'bob']]) {
      const r = await runMap(kind, args, mapEnv(file))
      t.equal(r.code, 2, `${kind} ${JSON.stringify(args)}`)
      t.equal(r.stdout, '')
      t.match(r.stderr, /^usage: efs-home-map KEY/)
    }
})

t.test('a broken config is one line naming the file and key', async (t) => {
  const dir = scratchDir(t)
  const missing = await runNode(MAP_BIN, ['alice'], mapEnv(join(dir, 'absent.conf')))
  t.match(missing, { code: 1, stdout: '', stderr: /^efs-home-map: cannot read the config file: no such file; .*\(.*absent\.conf\)\n$/ })
  const bad = writeConfig(t, siteConfig([slapd.url], '{dir}').replace('timeout = 1', 'timeout = soon'))
  const r = await runNode(MAP_BIN, ['alice'], mapEnv(bad.file))
  t.match(r, { code: 1, stdout: '', stderr: /^efs-home-map: \[ldap\] timeout: 'soon' is not a positive duration.*\n$/ })
})

t.test('what a lookup loads: the agent client only, or the lookup without yargs, handlebars or the AWS SDK', async (t) => {
  const traced = async (config: string) => {
    const trace = join(scratchDir(t), 'imports')
    const r = await runNode(MAP_BIN, ['alice'], mapEnv(config, { EFS_HOME_TRACE_IMPORTS: trace }), [
      '--import',
      join(ROOT, 'test/fixtures/trace-imports.mjs'),
    ])
    t.equal(r.code, 0, r.stderr)
    return readFileSync(trace, 'utf8')
  }
  const viaAgent = await traced(file)
  t.match(viaAgent, /node_modules\/ini\//, 'the trace sees requires')
  for (const heavy of ['ldapts', 'yargs', 'handlebars', '@aws-sdk'])
    t.notMatch(viaAgent, `node_modules/${heavy}/`, `answered by the agent: ${heavy} not loaded`)
  t.notMatch(viaAgent, /dist\/src\/lookup\/lookup\.js/, 'nor the lookup itself (only its key check)')
  const inProcess = await traced(noAgent)
  t.match(inProcess, /node_modules\/ldapts\//, 'the trace sees imports')
  for (const heavy of ['yargs', 'handlebars', '@aws-sdk'])
    t.notMatch(inProcess, `node_modules/${heavy}/`, `in-process: ${heavy} not loaded`)
})
