// efs-map-gen --from-ldap against a real slapd with 100,000 users: the
// exports and the lookup cache it derives, and a directory that dies half-way.

import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readHomesCache, writeHomesCache } from '../src/cache/homes-cache.js'
import { main } from '../src/cli/map-gen.js'
import { EFS_ID, EFS_MOUNT_TARGET, siteConfig, writeConfig } from './fixtures/config.js'
import { runMain } from './fixtures/in-process.js'
import { runCommand, waitFor } from './fixtures/processes.js'
import { MAP_BIN, MAP_GEN_BIN, mapEnv, runNode } from './fixtures/run.js'
import { BASE, startSlapd, type User } from './fixtures/slapd.js'

const USERS = 100_000
const HOMES = [
  (i: number) => `/import/nw-syd-efs1/${1 + (Math.floor(i / 3) % 3)}/u${i}`,
  (i: number) => `/import/kamen/${1 + (i % 2)}/u${i}`,
  (i: number) => `/import/${EFS_ID}/1/u${i}`,
]
const users: User[] = [
  ...Array.from({ length: USERS }, (_, i) => ({ uid: `u${i}`, home: HOMES[i % HOMES.length]!(i) })),
  { uid: 'evil1', home: '/import/kamen/1/../../etc' },
  { uid: 'evil2', home: '/elsewhere/kamen/1/evil2' },
  { uid: 'evil3', home: '/import/evil host/1/evil3' },
  { uid: 'twice', home: '/import/kamen/1/twice' },
  { uid: 'twice', home: '/import/kamen/7/twice', ou: 'Staff' },
]
const slapd = await startSlapd(t, users)

function setup(t: Test, extra = '') {
  const { file, dir } = writeConfig(t, siteConfig([slapd.url], '{dir}', extra))
  const source = join(dir, 'auto_static.cfg')
  const output = join(dir, 'auto.static')
  writeFileSync(source, 'kamen/9\n')
  return { file, dir, source, output, cache: join(dir, 'cache', 'homes.json') }
}

t.test('every export with a home in LDAP, and the cache of every valid user', async (t) => {
  const s = setup(t)
  const r = await runMain(main, ['--source', s.source, '--output', s.output, '--from-ldap'], s.file)
  t.equal(r.code, 0, r.err)
  t.match(r.out, new RegExp(`written, 7 exports \\(1 declared in .*, 6 found among ${USERS + 4} LDAP users at ${slapd.url}\\)`))
  t.match(r.err, /skipped 3 LDAP user\(s\) with an unsafe location/)
  t.match(r.err, /skipped 1 LDAP user\(s\) in more than one entry/)
  const keys = readFileSync(s.output, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('/'))
    .map((l) => l.split(/\s+/)[0])
  t.same(keys, [
    '/import/fs-0123456789abcdef0/1',
    '/import/kamen/1',
    '/import/kamen/2',
    '/import/kamen/9',
    '/import/nw-syd-efs1/1',
    '/import/nw-syd-efs1/2',
    '/import/nw-syd-efs1/3',
  ])
  const cache = readHomesCache(s.cache)
  t.equal(cache.size, USERS)
  t.equal(cache.get('u4')?.location, '/import/kamen/1/u4')
  t.notOk(cache.has('evil1') || cache.has('twice'), 'refused and ambiguous users are not cached')

  // The cache is what the program map falls back on: LDAP "down" (a closed port), answers still come.
  const down = writeConfig(t, siteConfig(['ldap://127.0.0.1:1'], '{dir}', `[home]\ncache_file = ${s.cache}\n${EFS_MOUNT_TARGET}`))
  const answer = await runNode(MAP_BIN, ['u99998'], mapEnv(down.file))
  t.match(answer, {
    code: 0,
    stdout: `-fstype=nfs4,nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,nosuid,nodev 10.0.1.26:/1/u99998\n`,
  })
})

t.test('LDAP killed mid-enumeration: the old map and cache stay byte-identical', async (t) => {
  const own = await startSlapd(t, users.slice(0, 50_000))
  const s = setup(t, '')
  const config = readFileSync(s.file, 'utf8').replace(slapd.url, own.url).replace('[ldap]\n', '[ldap]\npage_size = 50\n')
  writeFileSync(s.file, config)
  writeFileSync(s.output, '# an old map\n/import/kamen/9 -fstype=nfs,vers=4,nosuid,nodev kamen:/export/kamen/9\n')
  const oldCache = new Map([['u1', { location: '/import/kamen/2/u1', at: 1 }]])
  writeHomesCache(s.cache, oldCache)
  const before = { map: readFileSync(s.output), cache: readFileSync(s.cache) }
  const run = runNode(MAP_GEN_BIN, ['--source', s.source, '--output', s.output, '--from-ldap'], mapEnv(s.file))
  await waitFor('the enumeration to be under way', () => (own.searches('objectClass=posixAccount') > 20 ? true : undefined))
  await own.kill()
  const r = await run
  t.equal(r.code, 2, 'fails')
  t.match(r.stderr, /^efs-map-gen: no LDAP server answered \(ldap:\/\/127\.0\.0\.1:\d+: .*\)\n$/)
  t.same(readFileSync(s.output), before.map, 'map byte-identical')
  t.same(readFileSync(s.cache), before.cache, 'cache byte-identical')
  t.ok(own.searches('objectClass=posixAccount') < 50_000 / 50, 'it was killed part-way')
})

t.test('a directory that suddenly holds far fewer users does not empty the cache', async (t) => {
  const few = await startSlapd(t, users.slice(0, 10))
  const s = setup(t)
  writeFileSync(s.file, readFileSync(s.file, 'utf8').replace(slapd.url, few.url))
  writeHomesCache(s.cache, new Map(Array.from({ length: 100 }, (_, i) => [`u${i}`, { location: HOMES[i % 3]!(i), at: 1 }] as const)))
  const before = readFileSync(s.cache)
  const args = ['--source', s.source, '--output', s.output, '--from-ldap']
  const r = await runMain(main, args, s.file)
  t.match(r, { code: 2, err: /refused: .*homes\.json would lose 90 of its 100 entries/ })
  t.same(readFileSync(s.cache), before, 'cache byte-identical')
  t.throws(() => readFileSync(s.output), { code: 'ENOENT' }, 'and no map written either')
  t.match(await runMain(main, [...args, '--force'], s.file), { code: 0 })
  t.equal(readHomesCache(s.cache).size, 10, '--force: the directory is believed')
})

t.test('a directory with a size limit: the same map and cache as without one, by slices', async (t) => {
  // Names of every shape the slices must cover: digits, upper case, _ . - first, one character, non-ASCII.
  const many: User[] = [
    ...Array.from({ length: 2000 }, (_, i) => ({ uid: `s${i}`, home: HOMES[i % HOMES.length]!(i).replace(/u(\d+)$/, 's$1') })),
    ...['Zed', 'ZED2', '_svc', '.hidden', '-dash', '9lives', 'x', 'q.r-s_t', 'élodie', 'ñu'].map((uid, i) => ({
      uid,
      home: `/import/kamen/${5 + (i % 3)}/${i}`,
    })),
  ]
  const unlimited = await startSlapd(t, many)
  const outcome = async (url: string) => {
    const s = setup(t)
    writeFileSync(s.file, readFileSync(s.file, 'utf8').replace(slapd.url, url))
    const r = await runMain(main, ['--source', s.source, '--output', s.output, '--from-ldap'], s.file)
    const cache = [...readHomesCache(s.cache).entries()].map(([user, { location }]) => `${user} ${location}`).sort()
    return { r, map: readFileSync(s.output, 'utf8').split(s.dir).join('DIR'), cache }
  }
  const want = await outcome(unlimited.url)
  t.equal(want.r.code, 0, want.r.err)
  t.equal(want.cache.length, many.length, 'every user, without a limit')
  // slapd's default (500), and a limit so low that slices split three levels deep.
  for (const sizeLimit of ['default', 20] as const) {
    const limited = await startSlapd(t, many, { sizeLimit })
    const plain = await runCommand(
      'ldapsearch',
      ['-x', '-H', limited.url, '-b', BASE, '-E', 'pr=1000/noprompt', '(objectClass=posixAccount)', 'uid'],
      { PATH: process.env.PATH },
    )
    t.match(plain.stdout + plain.stderr, /Size limit exceeded/, `${sizeLimit}: the server does limit a plain paged search`)
    const got = await outcome(limited.url)
    t.equal(got.r.code, 0, got.r.err)
    t.equal(got.map, want.map, `${sizeLimit}: the map is byte-identical`)
    t.same(got.cache, want.cache, `${sizeLimit}: the cache holds the same users`)
    // 2,000 names under s: the slice s (2,000) and the slice s1 (1,111) are split again; s10 (111) fits.
    if (sizeLimit === 20) t.equal(limited.searches('(uid=s10*))'), 1, 'slices split two levels below the first split')
  }
})

t.test('a limit that no slice gets under: one line naming the limit and the fix; the old map and cache stay', async (t) => {
  const twins = await startSlapd(
    t,
    ['abcdefgh1', 'abcdefgh2', 'other'].map((uid) => ({ uid, home: `/import/kamen/1/${uid}` })),
    { sizeLimit: 1 },
  )
  const s = setup(t)
  writeFileSync(s.file, readFileSync(s.file, 'utf8').replace(slapd.url, twins.url))
  writeFileSync(s.output, '# an old map\n')
  writeHomesCache(s.cache, new Map([['u1', { location: '/import/kamen/2/u1', at: 1 }]]))
  const before = { map: readFileSync(s.output), cache: readFileSync(s.cache) }
  const r = await runNode(MAP_GEN_BIN, ['--source', s.source, '--output', s.output, '--from-ldap'], mapEnv(s.file))
  t.equal(r.code, 2)
  t.match(
    r.stderr,
    /^efs-map-gen: the LDAP server's size limit for anonymous binds stops the enumeration even in slices \(names starting with 'abcdef'\): bind as an identity with a higher limit \(\[ldap\] bind_dn; OpenLDAP: limits dn\.exact="…" size=unlimited\)\n$/,
  )
  t.same(readFileSync(s.output), before.map, 'map byte-identical')
  t.same(readFileSync(s.cache), before.cache, 'cache byte-identical')
})
