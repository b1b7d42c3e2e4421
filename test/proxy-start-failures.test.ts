// A TLS proxy that cannot start: every lookup says why, at once, and no
// supervisors pile up, however many lookups arrive; `proxy status` and
// `doctor` show the cause. Fifty lookups at once for each cause, then a
// count of the processes in the namespace.

import t, { type Test } from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { kernelLacks } from './fixtures/kernel.js'
import { spawnReady, waitFor } from './fixtures/processes.js'
import { MAP_BIN } from './fixtures/run.js'
import { startSlapd } from './fixtures/slapd.js'
import { FS_ID, proxyProcesses, type Rig, startRig } from './fixtures/tls-rig.js'

const missing = kernelLacks('netns')
const USERS = Array.from({ length: 50 }, (_, i) => ({ uid: `f${i}`, home: `/import/${FS_ID}/1/f${i}` }))

/** A rig with the fifty users in its LDAP. */
async function rigWithUsers(t: Test): Promise<Rig> {
  // A deadline no lookup comes near when it fails at once: an answer that waited it out shows as DEADLINE.
  const rig = await startRig(t, { deadline: 30 })
  await startSlapd(t, USERS, { netns: rig.ns, host: '127.0.0.1' })
  return rig
}

/** Changes one line of the rig's config. */
function edit(rig: Rig, from: RegExp | string, to: string): void {
  writeFileSync(rig.config, readFileSync(rig.config, 'utf8').replace(from, to))
}

/** Fifty lookups at once: each must fail with `cause` (not the deadline), and at most one supervisor may remain. */
async function storm(t: Test, rig: Rig, cause: RegExp): Promise<void> {
  const results = await Promise.all(USERS.map((u) => rig.exec([MAP_BIN, u.uid])))
  t.same(
    results.map((r) => r.code),
    USERS.map(() => 1),
    'every lookup failed',
  )
  t.same(
    results.map((r) => r.stdout).filter((s) => s !== ''),
    [],
    'nothing automount could mount',
  )
  const off = results.find((r) => !cause.test(r.stderr))
  t.notOk(off, `each says why: ${off?.stderr.trim() ?? cause}`)
  t.ok(
    results.every((r) => !/DEADLINE|is not up/.test(r.stderr)),
    'none waited out the deadline',
  )
  t.ok(proxyProcesses(rig).supervise <= 1, `at most one supervisor (${JSON.stringify(proxyProcesses(rig))})`)
}

t.test('the CA file missing, a directory, or holding no CA: the cause at once, nothing started', { skip: missing }, async (t) => {
  const rig = await rigWithUsers(t)
  const dir = join(rig.dir, 'ca')
  mkdirSync(dir)
  writeFileSync(join(dir, 'not-a-ca.pem'), 'just text\n')
  const cases: [string, RegExp][] = [
    [join(dir, 'absent.pem'), /^efs-home-map: \[efs\] ca_file \S+\/absent\.pem: no such file: install the Amazon root CAs there/],
    [dir, /^efs-home-map: \[efs\] ca_file \S+\/ca: a directory, not a file: /],
    [join(dir, 'not-a-ca.pem'), /^efs-home-map: \[efs\] ca_file \S+\/not-a-ca\.pem: holds no PEM certificate: /],
  ]
  for (const [file, cause] of cases) {
    edit(rig, /^ca_file = .*$/m, `ca_file = ${file}`)
    await storm(t, rig, cause)
    t.same(proxyProcesses(rig), { run: 0, supervise: 0 }, `${file}: no proxy, no supervisor`)
    const doctor = await rig.efsHome(['doctor', '--source', '/nonexistent'])
    t.equal(doctor.code, 1)
    t.match(doctor.stdout, `efs ca_file: [efs] ca_file ${file}: `, 'doctor names the file and the cause')
  }
  edit(rig, /^ca_file = .*$/m, `ca_file = ${rig.ca.caFile}`)
  const doctor = await rig.efsHome(['doctor', '--source', '/nonexistent'])
  t.match(doctor.stdout, /efs ca_file: \S+: 1 CA certificate\(s\)/, 'a good CA file passes')
})

t.test(
  'a mount target that does not resolve: one supervisor, its cause in every lookup, in status and in doctor',
  { skip: missing },
  async (t) => {
    const rig = await rigWithUsers(t)
    edit(rig, `[server "${FS_ID}"]\nmount_target_ip = 127.0.0.1`, `[server "${FS_ID}"]\nmount_target_ip = no-such-host.invalid`)
    await storm(
      t,
      rig,
      /^efs-home-map: the TLS proxy for fs-12345678 cannot start: .*no-such-host\.invalid.* \(\d+ attempt\(s\); see \S+proxy-fs-12345678\.log\)\n$/,
    )
    t.equal(proxyProcesses(rig).supervise, 1, 'one supervisor keeps trying')
    const status = await rig.efsHome(['proxy', 'status'])
    t.equal(status.code, 1)
    t.match(status.stdout, /^fs-12345678: DOWN \(failing to start since \S+ \(\d+ attempts, still retrying\): .*no-such-host\.invalid/m)
    const doctor = await rig.efsHome(['doctor', '--source', '/nonexistent'])
    t.match(doctor.stdout, /^FAIL efs fs-12345678 tls proxy: failing to start .*no-such-host\.invalid.* \(fix: fix the cause/m)
    // A second storm later: still one supervisor.
    await storm(t, rig, /cannot start: .*no-such-host\.invalid/)
    t.equal(proxyProcesses(rig).supervise, 1, 'still one supervisor')
    t.equal((await rig.efsHome(['proxy', 'stop', FS_ID])).code, 0)
    await waitFor('the supervisor to stop', () => (proxyProcesses(rig).supervise === 0 ? true : undefined))

    // A file system whose proxy never came up is not retried forever: [proxy] start_attempts.
    edit(rig, 'connect_timeout = 1', 'connect_timeout = 1\nstart_attempts = 2')
    t.equal((await rig.exec([MAP_BIN, 'f1'])).code, 1)
    await waitFor('the supervisor to give up', () => (proxyProcesses(rig).supervise === 0 ? true : undefined), 30_000)
    t.match(
      (await rig.efsHome(['proxy', 'status'])).stdout,
      /^fs-12345678: DOWN \(failed to start 2 times since \S+, then given up: .*no-such-host\.invalid/m,
    )
    t.match(
      (await rig.efsHome(['doctor', '--source', '/nonexistent'])).stdout,
      /^FAIL efs fs-12345678 tls proxy: failed to start 2 times .* then given up/m,
    )
    t.match(
      readFileSync(join(rig.dir, 'run', `proxy-${FS_ID}.log`), 'utf8'),
      /the proxy failed to start 2 times and was never up: giving up \(the next lookup tries again\)/,
    )
  },
)

t.test('the port range exhausted: the cause at once, nothing started', { skip: missing }, async (t) => {
  const rig = await rigWithUsers(t)
  edit(rig, 'port_range = 300-310', 'port_range = 350-350')
  await spawnReady(t, 'a listener on the only port', [
    ...rig.ns.exec,
    process.execPath,
    '-e',
    "require('net').createServer().listen(350, '127.0.0.1', () => console.log('ready'))",
  ])
  await storm(
    t,
    rig,
    /^efs-home-map: no free proxy port for fs-12345678: every port of \[efs\] port_range 350-350 is assigned or in use\n$/,
  )
  t.same(proxyProcesses(rig), { run: 0, supervise: 0 }, 'no proxy, no supervisor')
})
