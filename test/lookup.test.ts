// The lookup library against a real slapd: thousands of users, hostile keys
// and values, and LDAP servers that refuse, hang or disappear.

import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { readHomesCache, writeHomesCache } from '../src/cache/homes-cache.js'
import { parseConfig, type Config } from '../src/config/load.js'
import { lookupHome, type Step } from '../src/lookup/lookup.js'
import { allTrees } from '../src/lookup/tree.js'
import { EFS_ID, EFS_MOUNT_TARGET, siteConfig } from './fixtures/config.js'
import { blackHole, freePort, waitFor } from './fixtures/processes.js'
import { ConnectionPool } from '../src/directory/pool.js'
import { scratchDir } from './fixtures/scratch.js'
import { ROOT_DN, ROOT_PW, startSlapd, type User } from './fixtures/slapd.js'
import { makeTestCa } from './fixtures/tls.js'
import { BAD_KEYS } from './fixtures/bad-input.js'

const EFS_OPTS = 'nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,nosuid,nodev'

// Home locations by user number, and what the map must print for each.
const KINDS: [(i: number) => string, (i: number) => string][] = [
  [(i) => `/import/nw-syd-efs1/${i % 3}/u${i}`, (i) => `-fstype=nfs4,${EFS_OPTS} nw-syd-efs1:/${i % 3}/u${i}`],
  [(i) => `/import/${EFS_ID}/1/u${i}`, (i) => `-fstype=nfs4,${EFS_OPTS} 10.0.1.26:/1/u${i}`],
  [(i) => `/import/kamen/2/u${i}`, (i) => `-fstype=nfs,vers=4,nosuid,nodev kamen:/export/kamen/2/u${i}`],
  [(i) => `/import/kamen.cse.example.edu/3/u${i}`, (i) => `-fstype=nfs,vers=4.2,nosuid,nodev kamen.cse.example.edu:/srv/homes/3/u${i}`],
  [(i) => `/import/nw-syd-efs2/1/u${i}`, (i) => `-fstype=nfs4,${EFS_OPTS} nw-syd-efs2:/1/u${i}`],
]
const USERS = 3000

const BAD_VALUES: Record<string, string> = {
  space: '/import/kamen/1/sp ace',
  comma: '/import/kamen/1/com,ma',
  quote: '/import/kamen/1/qu"ote',
  newline: '/import/kamen/1/new\nline',
  dotdot: '/import/kamen/1/../../../etc',
  relative: 'import/kamen/1/relative',
  outside: '/home/kamen/1/outside',
  short: '/import/kamen/short',
  // Written as an EFS file system id, but not one: a typo, never mounted as a classic NFS host.
  badEfsId: '/import/fs-0123xyz/1/badEfsId',
  badEfsName: '/import/fs-12g4.efs.us-east-1.amazonaws.com/1/badEfsName',
  // This host, spelled as LDAP might: never an entry autofs would bind-mount, or mount from a user's listener.
  loopName: '/import/localhost/x/loopName',
  loopShort: '/import/127.1/x/loopShort',
  loopZero: '/import/0/x/loopZero',
  loopDecimal: '/import/2130706433/x/loopDecimal',
}

const users: User[] = [
  ...Array.from({ length: USERS }, (_, i) => ({ uid: `u${i}`, home: KINDS[i % KINDS.length]![0](i) })),
  // The same values as a /web location too: every tree refuses them alike.
  ...Object.entries(BAD_VALUES).map(([uid, home]) => ({ uid, home, web: home })),
  { uid: 'dup', home: '/import/kamen/1/dup' },
  { uid: 'dup', home: '/import/kamen/2/dup', ou: 'Staff' },
  { uid: 'MiXed.Case-9', home: '/import/kamen/1/MiXed.Case-9' },
]

const ca = makeTestCa(t)
const cert = ca.issue('localhost', ['127.0.0.1', 'localhost'])
const slapd = await startSlapd(t, users, { tls: cert })

function config(t: Test, uris: string[], extra = ''): Config {
  const dir = scratchDir(t, 'lookup')
  return parseConfig(join(dir, 'efs-home.conf'), siteConfig(uris, dir, `${EFS_MOUNT_TARGET}${extra}`))
}

t.test('thousands of users, each kind of home, the right entry', async (t) => {
  const c = config(t, [slapd.url])
  for (let i = 0; i < USERS; i += 97) {
    const result = await lookupHome(c, `u${i}`)
    t.equal(result.text, KINDS[i % KINDS.length]![1](i), `u${i}`)
    t.equal(result.source, 'ldap')
  }
})

t.test('lookups sharing a new kept connection at once: one connection, every one answered', async (t) => {
  // ldapts opens a socket per operation made before it is connected; an answer on the socket it did not keep is never read.
  const plain = config(t, [slapd.url])
  const secure = { ...plain, ldap: { ...plain.ldap, uri: [new URL(slapd.ldapsUrl!)], ca_file: ca.caFile } }
  for (const c of [plain, secure]) {
    const pool = new ConnectionPool()
    t.teardown(() => pool.close())
    const before = slapd.traffic().connections
    const texts = await Promise.all(Array.from({ length: 30 }, (_, i) => lookupHome(c, `u${i}`, { pool }).then((r) => r.text)))
    t.same(
      texts,
      Array.from({ length: 30 }, (_, i) => KINDS[i % KINDS.length]![1](i)),
      `${c.ldap.uri[0]?.protocol} every lookup answered`,
    )
    const after = await waitFor('the connection in the log', () => (slapd.traffic().connections > before ? slapd.traffic() : undefined))
    t.equal(after.connections - before, 1, `${c.ldap.uri[0]?.protocol} on one connection`)
  }
  // A directory that refuses anonymous binds but answers anonymous searches: the kept connection still serves.
  const strict = await startSlapd(t, users, { refuseAnonymousBind: true })
  const pool = new ConnectionPool()
  t.teardown(() => pool.close())
  const texts = await Promise.all([1, 2, 3].map((i) => lookupHome(config(t, [strict.url]), `u${i}`, { pool }).then((r) => r.text)))
  t.same(
    texts,
    [1, 2, 3].map((i) => KINDS[i % KINDS.length]![1](i)),
    'disallow bind_anon: answered all the same',
  )
})

t.test('hostile keys never reach LDAP', async (t) => {
  const c = config(t, [slapd.url])
  const before = slapd.searches()
  for (const key of BAD_KEYS) {
    await t.rejects(lookupHome(c, key), { code: 'KEY' }, JSON.stringify(key))
  }
  t.equal(slapd.searches(), before, 'slapd received no search at all')
})

t.test("a key LDAP matches but that is not the entry's name gets nothing: case variants, every template form", async (t) => {
  const c = config(t, [slapd.url])
  t.equal(
    (await lookupHome(c, 'MiXed.Case-9')).text,
    '-fstype=nfs,vers=4,nosuid,nodev kamen:/export/kamen/1/MiXed.Case-9',
    'the exact name answers',
  )
  for (const key of ['U17', 'mixed.case-9', 'MIXED.CASE-9', 'MiXed.CasE-9']) {
    await t.rejects(
      lookupHome(c, key),
      {
        code: 'NOT_FOUND',
        message: new RegExp(
          `^no user '${key.replace(/\./g, '\\.')}': the LDAP entry that matched \\(uid=[^)]+\\) has uid \\["[^"]+"\\], not exactly`,
        ),
      },
      key,
    )
  }
  // The same rule whichever way the template compares the key.
  for (const filter of ['(uid={key})', '(&(objectClass=posixAccount)(|(uid={key})(cn=nothing)))', '(uid:caseIgnoreMatch:={key})']) {
    const f = { ...c, ldap: { ...c.ldap, filter } }
    t.equal((await lookupHome(f, 'u17')).key, 'u17', `${filter}: u17`)
    await t.rejects(lookupHome(f, 'U17'), { code: 'NOT_FOUND' }, `${filter}: U17`)
  }
  // A site whose template deliberately matches case-exactly gets the same answers.
  const exact = { ...c, ldap: { ...c.ldap, filter: '(uid:caseExactMatch:={key})' } }
  await t.rejects(lookupHome(exact, 'U17'), { code: 'NOT_FOUND', message: "no LDAP entry for 'U17'" })
})

t.test('unsafe or ambiguous directory values are refused, in every tree', async (t) => {
  const c = config(t, [slapd.url], '[tree "/web"]\nattribute = webDirectory\n[tree "/www"]\nsub_path = public_html\n')
  for (const tree of allTrees(c))
    for (const uid of Object.keys(BAD_VALUES)) {
      await t.rejects(lookupHome(c, uid, { tree }), { code: 'LOCATION' }, `${uid} in ${tree.mountPoint}`)
    }
  await t.rejects(lookupHome(c, 'dup'), { code: 'AMBIGUOUS', message: /more than one LDAP entry/ })
  await t.rejects(lookupHome(c, 'nobody'), { code: 'NOT_FOUND' })
  t.equal(slapd.searches('uid=nobody'), 1, 'one search per lookup')
})

t.test('first URI refused: the second answers', async (t) => {
  const closed = `ldap://127.0.0.1:${await freePort()}`
  const steps: Step[] = []
  const result = await lookupHome(config(t, [closed, slapd.url]), 'u0', { observe: (s) => steps.push(s) })
  t.equal(result.text, KINDS[0]![1](0))
  t.match(steps[0], {
    step: 'directory',
    uri: slapd.url,
    attempts: [
      { uri: closed, ok: false, error: /ECONNREFUSED/ },
      { uri: slapd.url, ok: true },
    ],
  })
})

t.test('first URI a black hole: the per-server timeout moves on to the second', async (t) => {
  const hole = await blackHole(t)
  const steps: Step[] = []
  const result = await lookupHome(config(t, [`ldap://127.0.0.1:${hole.port}`, slapd.url]), 'u2', { observe: (s) => steps.push(s) })
  t.equal(result.text, KINDS[2]![1](2))
  t.equal(hole.connections(), 1, 'the black hole was tried')
  t.match(steps[0], { attempts: [{ ok: false, error: /timed out/ }, { ok: true }] })
})

t.test('a server that failed is tried last by the next lookups, until retry_failed_after has passed', async (t) => {
  const hole = await blackHole(t)
  const c = config(t, [`ldap://127.0.0.1:${hole.port}`, slapd.url])
  const directory = async (key: string, config = c) => {
    const steps: Step[] = []
    await lookupHome(config, key, { observe: (s) => steps.push(s) })
    return steps[0]
  }
  t.match(await directory('u0'), { attempts: [{ ok: false, error: /timed out/ }, { ok: true }] }, 'the first lookup pays the timeout')
  t.match(await directory('u5'), { attempts: [{ uri: slapd.url, ok: true }] }, 'the next one goes to the live server first')
  await directory('u10')
  t.equal(hole.connections(), 1, 'the dead server is not tried while it is demoted')
  const file = join(dirname(c.home.cache_file), 'ldap-health.json')
  t.same(
    Object.keys(JSON.parse(readFileSync(file, 'utf8'))),
    [`ldap://127.0.0.1:${hole.port}`],
    'shared with other lookups through the health file',
  )

  // When every live server fails, the demoted one is still tried, last.
  const closed = `ldap://127.0.0.1:${await freePort()}`
  const alone = { ...c, ldap: { ...c.ldap, uri: [new URL(`ldap://127.0.0.1:${hole.port}`), new URL(closed)] } }
  await t.rejects(lookupHome(alone, 'u15'), { code: 'LDAP_UNAVAILABLE' })
  t.equal(hole.connections(), 2, 'tried last, not skipped')

  // Odd content is no reason to fail a login: the file is a hint.
  writeFileSync(file, '{"ldap://127.0.0.1:1/": "soon", "x": [1]')
  t.match(await directory('u20'), { attempts: [{ ok: false }, { ok: true }] }, 'unreadable hints: configured order')
  writeFileSync(file, JSON.stringify({ [`ldap://127.0.0.1:${hole.port}`]: Date.now() - 1 }))
  t.match(await directory('u25'), { attempts: [{ ok: false }, { ok: true }] }, 'after retry_failed_after: configured order again')
  writeFileSync(file, JSON.stringify({ [slapd.url]: Date.now() + 60_000 }))
  t.match(await directory('u30', { ...c, ldap: { ...c.ldap, uri: [new URL(slapd.url)] } }), { attempts: [{ ok: true, demoted: true }] })
  t.same(JSON.parse(readFileSync(file, 'utf8')), {}, 'a demoted server that answers is trusted again')
})

t.test('simple bind with the password from a file', async (t) => {
  const dir = scratchDir(t)
  writeFileSync(join(dir, 'pw'), `${ROOT_PW}\n`, { mode: 0o600 })
  writeFileSync(join(dir, 'wrong'), 'nope\n', { mode: 0o600 })
  const c = config(t, [slapd.url])
  const bound = (file: string): Config => ({ ...c, ldap: { ...c.ldap, bind_dn: ROOT_DN, bind_password_file: join(dir, file) } })
  t.equal((await lookupHome(bound('pw'), 'u3')).text, KINDS[3]![1](3))
  await t.rejects(lookupHome(bound('wrong'), 'u13'), { code: 'LDAP_UNAVAILABLE', message: /invalid ?credentials/i })
  await t.rejects(lookupHome(bound('absent'), 'u13'), { code: 'CONFIG', message: /cannot read \[ldap\] bind_password_file/ })
})

t.test('ldaps:// and StartTLS verify the server against ca_file', async (t) => {
  const c = config(t, [slapd.ldapsUrl!])
  const trusted = { ...c, ldap: { ...c.ldap, ca_file: ca.caFile } }
  t.equal((await lookupHome(trusted, 'u4')).text, KINDS[4]![1](4))
  await t.rejects(lookupHome(c, 'u14'), { code: 'LDAP_UNAVAILABLE', message: /certificate/ }, 'untrusted without the CA')
  const starttls = { ...c, ldap: { ...c.ldap, uri: [new URL(slapd.url)], starttls: true, ca_file: ca.caFile } }
  t.equal((await lookupHome(starttls, 'u5')).text, KINDS[0]![1](5))
  const untrustedStarttls = { ...starttls, ldap: { ...starttls.ldap, ca_file: undefined } }
  await t.rejects(lookupHome(untrustedStarttls, 'u15'), { code: 'LDAP_UNAVAILABLE', message: /certificate/ })
})

t.test('the last-known-good cache', async (t) => {
  const c = config(t, [slapd.url])
  const file = c.home.cache_file
  await lookupHome(c, 'u7')
  t.equal(readHomesCache(file).get('u7')?.location, KINDS[2]![0](7), 'a successful lookup records the location')

  const hole = await blackHole(t)
  const down = {
    ...c,
    ldap: { ...c.ldap, uri: [new URL(`ldap://127.0.0.1:${await freePort()}`), new URL(`ldap://127.0.0.1:${hole.port}`)] },
  }
  const steps: Step[] = []
  const cached = await lookupHome(down, 'u7', { observe: (s) => steps.push(s) })
  t.equal(cached.source, 'cache')
  t.equal(cached.text, KINDS[2]![1](7), 'all servers down: answered from the cache')
  t.match(
    steps.map((s) => s.step),
    ['directory', 'cache', 'location', 'classification', 'entry'],
  )

  const later = Math.floor(Date.now() / 1000) + c.home.cache_max_age + 60
  await t.rejects(lookupHome(down, 'u7', { now: later }), { code: 'LDAP_UNAVAILABLE', message: /too old/ }, 'a stale entry is not used')
  await t.rejects(lookupHome(down, 'u8'), { code: 'LDAP_UNAVAILABLE', message: /no cached location for 'u8'/ })

  // A cached user LDAP no longer knows is not resurrected while LDAP is up, and is forgotten.
  const cache = readHomesCache(file)
  cache.set('ghost', { location: '/import/kamen/1/ghost', at: Math.floor(Date.now() / 1000) })
  writeHomesCache(file, cache)
  await t.rejects(lookupHome(c, 'ghost'), { code: 'NOT_FOUND' })
  t.notOk(readHomesCache(file).has('ghost'), 'removed from the cache')
  await t.rejects(lookupHome(down, 'ghost'), { code: 'LDAP_UNAVAILABLE' }, 'and not served during an outage')

  // A refused cached location is refused like an LDAP one.
  cache.set('evil', { location: '/import/kamen/1/../../etc', at: Math.floor(Date.now() / 1000) })
  writeHomesCache(file, cache)
  await t.rejects(lookupHome(down, 'evil'), { code: 'LOCATION' })

  writeFileSync(file, '{"broken')
  await t.rejects(lookupHome(down, 'u7'), { code: 'LDAP_UNAVAILABLE', message: /cache is unusable: .*not valid JSON/ })
  t.equal((await lookupHome(c, 'u7')).source, 'ldap', 'LDAP back: a corrupt cache is rewritten')
  t.equal(readHomesCache(file).get('u7')?.location, KINDS[2]![0](7))
})

t.test('a cache efs-map-gen keeps fresh is not read or rewritten by lookups', async (t) => {
  const c = config(t, [slapd.url])
  const file = c.home.cache_file
  const now = Math.floor(Date.now() / 1000)
  writeHomesCache(file, new Map([['u1', { location: KINDS[1]![0](1), at: now }]]), { at: now })
  const before = readFileSync(file)
  t.equal((await lookupHome(c, 'u9')).source, 'ldap')
  t.same(readFileSync(file), before, 'u9 is not added: the next efs-map-gen run brings it')
  writeHomesCache(file, new Map([['u1', { location: KINDS[1]![0](1), at: now }]]), { at: now - c.home.cache_max_age })
  await lookupHome(c, 'u9')
  t.equal(readHomesCache(file).get('u9')?.location, KINDS[4]![0](9), 'an old one is topped up as usual')
})

t.test('all servers down and no cache: an answer within the deadline', async (t) => {
  const a = await blackHole(t)
  const b = await blackHole(t)
  const c = config(t, [`ldap://127.0.0.1:${a.port}`, `ldap://127.0.0.1:${b.port}`])
  const tight = { ...c, ldap: { ...c.ldap, timeout: 1 }, home: { ...c.home, deadline: 1.5 } }
  const steps: Step[] = []
  await t.rejects(lookupHome(tight, 'u1', { observe: (s) => steps.push(s) }), {
    code: 'LDAP_UNAVAILABLE',
    message: /no LDAP server answered/,
  })
  t.equal(a.connections(), 1)
  t.equal(b.connections(), 1, 'the second server got what was left of the deadline')
  t.match(steps[0], {
    step: 'directory',
    attempts: [
      { ok: false, error: /timed out after 1\.0 s/ },
      { ok: false, error: /timed out after 0\.[0-9] s/ },
    ],
  })
})

t.test('a cache others could forge is never used: a directory others can write, a FIFO or a link at the cache', async (t) => {
  // LDAP down (a closed port), so the lookup turns to the cache.
  const c = config(t, [`ldap://127.0.0.1:${await freePort()}`])
  const file = c.home.cache_file
  const dir = dirname(file)
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  writeHomesCache(file, new Map([['u1', { location: '/import/kamen/2/u1', at: Math.floor(Date.now() / 1000) }]]))
  t.equal((await lookupHome(c, 'u1')).text, '-fstype=nfs,vers=4,nosuid,nodev kamen:/export/kamen/2/u1', 'a sound cache answers')
  chmodSync(dir, 0o777)
  await t.rejects(lookupHome(c, 'u1'), {
    code: 'LDAP_UNAVAILABLE',
    message: /the cache is unusable: .*the \[home\] cache_file directory: \S+ is writable by others \(mode 777\)/,
  })
  chmodSync(dir, 0o755)
  rmSync(file)
  // A FIFO would hang a plain read for ever; it is refused at once.
  execFileSync('mkfifo', [file])
  await t.rejects(lookupHome(c, 'u1'), { code: 'LDAP_UNAVAILABLE', message: /the cache is unusable: .*homes\.json: is not a regular file/ })
  rmSync(file)
  const elsewhere = join(scratchDir(t), 'forged.json')
  writeFileSync(
    elsewhere,
    JSON.stringify({ version: 1, users: { u1: { location: '/import/evil/1/u1', at: Math.floor(Date.now() / 1000) } } }),
  )
  symlinkSync(elsewhere, file)
  await t.rejects(lookupHome(c, 'u1'), { code: 'LDAP_UNAVAILABLE', message: /homes\.json: is a symbolic link/ })
})

t.test('nfs_scope = efs: an EFS server the config does not declare is not firewalled, so it is not mounted', async (t) => {
  const c = config(t, [slapd.url], '[firewall]\nnfs_scope = efs\n')
  await t.rejects(lookupHome(c, 'u0'), {
    code: 'LOCATION',
    message:
      /^refused home location "\/import\/nw-syd-efs1\/0\/u0": EFS server "nw-syd-efs1" has no \[server\] section, and with \[firewall\] nfs_scope = efs the firewall protects only declared file systems/,
  })
  t.match((await lookupHome(c, 'u1')).text, /10\.0\.1\.26:\/1\/u1$/, 'a declared file system is mounted')
  t.match((await lookupHome(c, 'u2')).text, /^-fstype=nfs,/, 'classic NFS is not affected')
  t.match(
    (await lookupHome(config(t, [slapd.url]), 'u0')).text,
    /nw-syd-efs1:\/0\/u0$/,
    'nfs_scope = all (the default) covers every server',
  )
})
