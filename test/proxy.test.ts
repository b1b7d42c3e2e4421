// The TLS proxy with real NFS: libnfs -> our proxy -> TLS (stunnel, a test
// CA) -> nfs-ganesha, all inside a network namespace the test owns.

import t from 'tap'
import { randomBytes, X509Certificate } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCommand, spawnOwned, spawnReady, waitFor } from './fixtures/processes.js'
import { AS_NOBODY, nobodyCopies } from './fixtures/as-nobody.js'
import { EFS_HOME_BIN, MAP_BIN, MAP_GEN_BIN, ROOT } from './fixtures/run.js'
import { startSlapd } from './fixtures/slapd.js'
import { FS_ID, FS_NAME, nfsUrl, proxyProcesses, proxyState, type Rig, type RigOptions, startRig } from './fixtures/tls-rig.js'
import { makeTestCa } from './fixtures/tls.js'
import { PROXY_NODE_FLAGS } from '../src/proxy/supervisor.js'
import { kernelLacks } from './fixtures/kernel.js'

const missing = kernelLacks('netns')
if (missing === undefined) await suite()
else t.plan(0, missing)

async function suite(): Promise<void> {
  t.test('NFS through the proxy: listing and a 4 MiB file read back byte-identical', async (t) => {
    const rig = await startRig(t)
    const ensured = await rig.efsHome(['proxy', 'ensure', FS_ID])
    t.equal(ensured.code, 0, ensured.stderr)
    const port = Number(ensured.stdout.trim())
    t.ok(port >= 300 && port <= 310, `a port from the range (${port})`)
    const ls = await rig.exec(['nfs-ls', nfsUrl(port)])
    t.equal(ls.code, 0, ls.stderr)
    t.match(ls.stdout, /big\.bin/)
    t.match(ls.stdout, /hello\.txt/)
    const out = join(rig.dir, 'big.copy')
    const cp = await rig.exec(['nfs-cp', nfsUrl(port, '/big.bin'), out])
    t.equal(cp.code, 0, cp.stderr)
    t.ok(readFileSync(out).equals(rig.big), 'byte-identical')
    const again = await rig.efsHome(['proxy', 'ensure', FS_ID])
    t.equal(Number(again.stdout.trim()), port, 'ensure again: the same proxy, the same port')
    const argv = readFileSync(`/proc/${proxyState(rig).pid}/cmdline`, 'utf8').split('\0')
    t.same(argv.slice(1, 1 + PROXY_NODE_FLAGS.length), PROXY_NODE_FLAGS, "the supervisor starts the proxy with the proxy's node flags")
    const status = await rig.efsHome(['proxy', 'status'])
    t.match(status, { code: 0, stdout: new RegExp(`^${FS_ID} port ${port} pid \\d+ -> 127\\.0\\.0\\.1:3049: up \\d+ s`) })
    const log = await waitFor(
      'the closed connections in the log',
      () => (/ from EFS/.test(proxyLog(rig)) ? proxyLog(rig) : undefined),
      5000,
    )
    t.match(log, /conn \d+: open to 127\.0\.0\.1:3049 \(TLSv1\.3\)/)
    t.match(log, /conn \d+: (closed|client reset), \d+ bytes to EFS, [1-9]\d* from EFS/)
  })

  t.test('the systemd unit runs the proxy with the same node flags as the supervisor', async (t) => {
    const unit = readFileSync(join(ROOT, 'templates', 'efs-home-proxy@.service'), 'utf8')
    const execStart = unit.split('\n').filter((line) => line.startsWith('ExecStart='))
    t.same(execStart, [`ExecStart=/usr/bin/env node ${PROXY_NODE_FLAGS.join(' ')} /usr/local/bin/efs-home proxy run --fs %i`])
    t.notMatch(unit, /NODE_OPTIONS/, 'no flags hidden in the environment')
  })

  t.test('a TLS server that cannot be trusted gets no NFS: wrong name, unknown CA, expired, TLS 1.1', async (t) => {
    // A zero-day certificate is valid until the second it was issued in: waited for until that has passed.
    let expiring: string | undefined
    const cases: [string, RigOptions, RegExp][] = [
      [
        'certificate for another file system',
        { cert: (ca) => ca.issue('fs-87654321.efs.us-east-1.amazonaws.com', ['fs-87654321.efs.us-east-1.amazonaws.com']) },
        /does not match certificate's altnames/,
      ],
      [
        'certificate from an unknown CA',
        { cert: () => makeTestCa(t).issue(FS_NAME, [FS_NAME]) },
        /unable to verify the first certificate|unable to get local issuer/,
      ],
      [
        'expired certificate',
        {
          cert: (ca) => {
            const issued = ca.issue(FS_NAME, [FS_NAME], { days: 0 })
            expiring = issued.certFile
            return issued
          },
        },
        /certificate has expired/,
      ],
      ['server that speaks TLS 1.1 at most', { stunnelExtra: ['sslVersionMax = TLSv1.1', 'ciphers = DEFAULT@SECLEVEL=0'] }, /protocol/i],
    ]
    for (const [what, options, reason] of cases) {
      const rig = await startRig(t, { ...options, role: 'pxf' })
      if (expiring !== undefined) {
        const until = Date.parse(new X509Certificate(readFileSync(expiring)).validTo)
        await waitFor('the zero-day certificate to expire', () => (Date.now() > until ? true : undefined))
        expiring = undefined
      }
      const ensured = await rig.efsHome(['proxy', 'ensure', FS_ID])
      t.equal(ensured.code, 0, `${what}: the proxy itself starts`)
      const ls = await rig.exec(['nfs-ls', nfsUrl(Number(ensured.stdout.trim()))])
      t.not(ls.code, 0, `${what}: no NFS`)
      // The proxy logs a connection when it closes, which may be just after the client gave up.
      const log = await waitFor(
        `${what}: the proxy's log line`,
        () => (/conn 1: TLS to /.test(proxyLog(rig)) ? proxyLog(rig) : undefined),
        5000,
      )
      t.match(log, reason, `${what}: the proxy says why`)
      t.match(log, /conn 1: TLS to 127\.0\.0\.1:3049: .*, 0 bytes to EFS, 0 from EFS/, `${what}: nothing was sent`)
    }
  })

  t.test('a mount target that refuses, or never answers: the connection fails, quickly', async (t) => {
    const rig = await startRig(t)
    const refused = await rig.exec([process.execPath, EFS_HOME_BIN, 'proxy', 'ensure', FS_ID], { EFS_HOME_TEST_TARGET_PORT: '3999' })
    t.equal(refused.code, 0)
    t.not((await rig.exec(['nfs-ls', nfsUrl(Number(refused.stdout.trim()))])).code, 0)
    t.ok(
      await waitFor(
        'the refusal in the log',
        () => (/TLS to 127\.0\.0\.1:3999: connect ECONNREFUSED/.test(proxyLog(rig)) ? true : undefined),
        5000,
      ),
    )
    t.equal((await rig.efsHome(['proxy', 'stop', FS_ID])).code, 0)

    await spawnReady(t, 'a mount target that never answers', [
      ...rig.ns.exec,
      process.execPath,
      '-e',
      "require('net').createServer(() => {}).listen(3998, '127.0.0.1', () => console.log('ready'))",
    ])
    const hole = await rig.exec([process.execPath, EFS_HOME_BIN, 'proxy', 'ensure', FS_ID], { EFS_HOME_TEST_TARGET_PORT: '3998' })
    t.not((await rig.exec(['nfs-ls', nfsUrl(Number(hole.stdout.trim()))])).code, 0)
    t.ok(await waitFor('the timeout in the log', () => (/no TLS session within 1 s/.test(proxyLog(rig)) ? true : undefined), 5000))
  })

  t.test('SIGKILL in the middle of a transfer: the proxy comes back on its own, on the same port', async (t) => {
    const rig = await startRig(t)
    writeFileSync(join(rig.exportDir, 'huge.bin'), randomBytes(48 << 20))
    const port = Number((await rig.efsHome(['proxy', 'ensure', FS_ID])).stdout.trim())
    const before = proxyState(rig)
    const out = join(rig.dir, 'huge.copy')
    const copying = rig.exec(['nfs-cp', nfsUrl(port, '/huge.bin'), out])
    await waitFor('the transfer to be under way', () => (existsSync(out) && statSync(out).size > 1 << 20 ? true : undefined))
    process.kill(before.pid, 'SIGKILL')
    await copying
    const after = await waitFor('the proxy to be back', async () => {
      const s = JSON.parse((await rig.efsHome(['proxy', 'status', '--json'])).stdout)[0]
      return s?.up === true && s.pid !== before.pid ? s : undefined
    })
    t.equal(after.port, port, 'the same port')
    t.equal(after.supervisorPid, before.supervisorPid, 'restarted by its supervisor, not by a lookup')
    const again = await rig.exec(['nfs-cp', nfsUrl(port, '/big.bin'), join(rig.dir, 'big.copy')])
    t.equal(again.code, 0, 'new connections flow')
    t.ok(readFileSync(join(rig.dir, 'big.copy')).equals(rig.big))
    t.same(proxyProcesses(rig), { run: 1, supervise: 1 }, 'no proxy process leaked')
  })

  t.test('a proxy that keeps dying as it starts is restarted with a doubling pause', async (t) => {
    const rig = await startRig(t)
    // A file system the config does not know: each proxy exits at once.
    const supervisor = spawnOwned(
      t,
      rig.ns.exec[0]!,
      [
        ...rig.ns.exec.slice(1),
        'env',
        '-u',
        'NODE_OPTIONS',
        `EFS_HOME_CONFIG=${rig.config}`,
        process.execPath,
        EFS_HOME_BIN,
        'proxy',
        'supervise',
        '--fs',
        'fs-0badf00d',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let log = ''
    supervisor.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()))
    const pauses = await waitFor('four restarts', () => {
      const found = [...log.matchAll(/proxy exited \(status 2\); starting it again in (\d+) ms/g)].map((m) => Number(m[1]))
      return found.length >= 4 ? found.slice(0, 4) : undefined
    })
    t.same(pauses, [250, 500, 1000, 2000])
    t.match(log, /fs-0badf00d/, 'the proxy said why it exited')
  })

  t.test('stale state: a dead PID, a recycled PID', async (t) => {
    const rig = await startRig(t)
    const port = Number((await rig.efsHome(['proxy', 'ensure', FS_ID])).stdout.trim())
    t.equal((await rig.efsHome(['proxy', 'stop', FS_ID])).code, 0)
    t.same(proxyProcesses(rig), { run: 0, supervise: 0 }, 'stop stops both')
    const stateFile = join(rig.dir, 'run', `proxy-${FS_ID}.json`)
    const stale = {
      fsId: FS_ID,
      port,
      pid: 4_000_000,
      startTime: '1',
      target: 'x',
      started: 0,
      connections: { open: 0, total: 0 },
      bytes: { toEfs: 0, fromEfs: 0 },
    }
    writeFileSync(stateFile, JSON.stringify(stale))
    t.equal(Number((await rig.efsHome(['proxy', 'ensure', FS_ID])).stdout.trim()), port, 'a dead PID: a new proxy')
    t.not(proxyState(rig).pid, stale.pid)
    t.equal((await rig.efsHome(['proxy', 'stop', FS_ID])).code, 0)

    const bystander = spawnOwned(t, rig.ns.exec[0]!, [...rig.ns.exec.slice(1), 'sleep', '60'])
    await waitFor('the bystander to be sleep', () =>
      readFileSync(`/proc/${bystander.pid}/cmdline`, 'utf8').startsWith('sleep\0') ? true : undefined,
    )
    writeFileSync(stateFile, JSON.stringify({ ...stale, pid: bystander.pid }))
    t.equal(Number((await rig.efsHome(['proxy', 'ensure', FS_ID])).stdout.trim()), port, 'a recycled PID: a new proxy')
    t.equal(bystander.exitCode, null, 'and the process that got the PID is left alone')
    t.equal((await rig.exec(['nfs-ls', nfsUrl(port)])).code, 0)
  })

  t.test('ports: exhausted range, and a port taken over by another user', async (t) => {
    const rig = await startRig(t, { configExtra: '[home]\ndeadline = 3\n' })
    // Squatters hold a port once they print "ready"; nobody's runs from a copy nobody can read.
    const [listenCopy] = nobodyCopies(t, 'listen.mjs')
    const listen = (port: number, asNobody: boolean) =>
      spawnReady(t, `a listener on port ${port} as ${asNobody ? 'nobody' : 'root'}`, [
        ...rig.ns.exec,
        ...(asNobody ? AS_NOBODY : []),
        'env',
        '-u',
        'NODE_OPTIONS',
        process.execPath,
        listenCopy!,
        `tcp:127.0.0.1:${port}`,
      ])

    const port = Number((await rig.efsHome(['proxy', 'ensure', FS_ID])).stdout.trim())
    t.equal((await rig.efsHome(['proxy', 'stop', FS_ID])).code, 0)
    // The proxy ports are below 1024: nobody cannot take one over when the proxy is down...
    await t.rejects(listen(port, true), /EACCES/, 'nobody cannot bind a proxy port')
    // ...unless the kernel lets anyone bind low ports (containers often do): then nothing there is trusted.
    const sysctl = (value: number) =>
      runCommand(rig.ns.exec[0]!, [...rig.ns.exec.slice(1), 'sysctl', '-w', `net.ipv4.ip_unprivileged_port_start=${value}`], {
        PATH: process.env.PATH,
      })
    t.equal((await sysctl(0)).code, 0)
    await listen(port, true)
    const open = await rig.efsHome(['proxy', 'ensure', FS_ID])
    t.equal(open.code, 2)
    t.match(
      open.stderr,
      new RegExp(
        `cannot be trusted: net\\.ipv4\\.ip_unprivileged_port_start is 0, so any user may bind port ${port} and stand in for the proxy`,
      ),
    )
    t.match(
      (await rig.efsHome(['doctor', '--source', '/nonexistent'])).stdout,
      /^FAIL efs fs-12345678 tls proxy: net\.ipv4\.ip_unprivileged_port_start is 0/m,
    )
    // Back to 1024, the listener nobody bound meanwhile is still there: refused as a squatter.
    t.equal((await sysctl(1024)).code, 0)
    const squatted = await rig.efsHome(['proxy', 'ensure', FS_ID])
    t.equal(squatted.code, 2)
    t.match(squatted.stderr, new RegExp(`port ${port} is held by another process \\(uid 65534\\); the proxy cannot be trusted there`))

    const other = 'fs-0abcdef0'
    writeFileSync(
      rig.config,
      `${readFileSync(rig.config, 'utf8')}\n[efs]\nport_range = 350-350\n[server "${other}"]\nmount_target_ip = 127.0.0.1\n`,
    )
    await listen(350, false)
    const full = await rig.efsHome(['proxy', 'ensure', other])
    t.equal(full.code, 2)
    t.match(full.stderr, /no free proxy port for fs-0abcdef0: every port of \[efs\] port_range 350-350 is assigned or in use/)
  })

  t.test(
    'what root trusts in [proxy] state_dir: a link at the log is never followed, a directory others can write is refused',
    async (t) => {
      const rig = await startRig(t)
      const run = join(rig.dir, 'run')
      mkdirSync(run, { recursive: true, mode: 0o755 })
      const victim = join(rig.dir, 'victim')
      writeFileSync(victim, 'untouched\n')
      const log = join(run, `proxy-${FS_ID}.log`)
      symlinkSync(victim, log)
      const linked = await rig.efsHome(['proxy', 'ensure', FS_ID])
      t.equal(linked.code, 2)
      t.match(linked.stderr, /proxy-fs-12345678\.log: is a symbolic link; make it root's own/)
      t.equal(readFileSync(victim, 'utf8'), 'untouched\n', 'root appended nothing through the link')
      rmSync(log)
      chmodSync(run, 0o777)
      const open = await rig.efsHome(['proxy', 'ensure', FS_ID])
      t.equal(open.code, 2)
      t.match(open.stderr, /\[proxy\] state_dir: \S+\/run is writable by others \(mode 777\)/)
      t.same(proxyProcesses(rig), { run: 0, supervise: 0 }, 'nothing was started')
      chmodSync(run, 0o755)
      t.equal((await rig.efsHome(['proxy', 'ensure', FS_ID])).code, 0, 'a sound directory: the proxy starts')
    },
  )

  t.test('fifty lookups at once for users on one TLS file system start one proxy', async (t) => {
    // Fifty node processes on a loaded two-core CI machine can outlast the
    // default 10 s budget; this is about one proxy, not speed (see the bench).
    const rig = await startRig(t, { deadline: 60 })
    const users = Array.from({ length: 50 }, (_, i) => ({ uid: `t${i}`, home: `/import/${FS_ID}/1/t${i}` }))
    await startSlapd(t, users, { netns: rig.ns, host: '127.0.0.1' })
    const results = await Promise.all(users.map((u) => rig.exec([MAP_BIN, u.uid])))
    t.same(
      results.map((r) => r.code),
      users.map(() => 0),
      results.find((r) => r.code !== 0)?.stderr ?? 'all answered',
    )
    const ports = new Set(results.map((r) => /,port=(\d+),nobind 127\.0\.0\.1:\/1\/t\d+\n$/.exec(r.stdout)?.[1]))
    t.equal(ports.size, 1, 'one port for all')
    t.match(
      results[7]?.stdout,
      /^-fstype=nfs4,nfsvers=4\.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,nosuid,nodev,port=\d+,nobind 127\.0\.0\.1:\/1\/t7\n$/,
    )
    t.same(proxyProcesses(rig), { run: 1, supervise: 1 }, 'exactly one proxy')
  })

  function proxyLog(rig: Rig): string {
    return readFileSync(join(rig.dir, 'run', `proxy-${FS_ID}.log`), 'utf8')
  }

  t.test('efs-map-gen: a TLS export gets its proxy port and nobind, and its proxy is up', async (t) => {
    const rig = await startRig(t)
    const source = join(rig.dir, 'auto_static.cfg')
    const output = join(rig.dir, 'auto.static')
    writeFileSync(source, `${FS_ID}/1\n${FS_ID}/2\n`)
    const r = await rig.exec([MAP_GEN_BIN, '--source', source, '--output', output])
    t.equal(r.code, 0, r.stderr)
    const port = Number(/port=(\d+),nobind/.exec(readFileSync(output, 'utf8'))?.[1])
    t.match(
      readFileSync(output, 'utf8'),
      new RegExp(`^/import/${FS_ID}/1 +-fstype=nfs4,[^ ]*,port=${port},nobind 127\\.0\\.0\\.1:/1$`, 'm'),
    )
    t.same(proxyProcesses(rig), { run: 1, supervise: 1 }, 'the proxy behind the port is running')
    t.equal((await rig.exec(['nfs-ls', nfsUrl(port)])).code, 0)
    t.equal((await rig.efsHome(['proxy', 'stop', FS_ID])).code, 0)
    t.match(await rig.exec([MAP_GEN_BIN, '--source', source, '--output', output, '--check']), { code: 0, stdout: /up to date/ })
    t.same(proxyProcesses(rig), { run: 0, supervise: 0 }, '--check starts nothing')
  })
}
