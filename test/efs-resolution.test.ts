// Where an EFS home is mounted from, as efs-utils decides it: the DNS name
// when it resolves (a private /etc/hosts), else a mount target from the real
// AWS SDK talking to a loopback EFS API, preferring the instance's zone from
// a loopback IMDSv2, checked for TCP 2049. All inside a network namespace.

import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeConfig } from './fixtures/config.js'
import { createNetns, killNetnsProcesses } from './fixtures/netns.js'
import { runCommand, spawnOwned, spawnReady, waitFor } from './fixtures/processes.js'
import { EFS_HOME_BIN, MAP_BIN, ROOT, THIN_MAP } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'
import { startSlapd } from './fixtures/slapd.js'
import { kernelLacks, skipWithout } from './fixtures/kernel.js'
import { AS_NOBODY, nobodyCopies } from './fixtures/as-nobody.js'

const missing = kernelLacks('netns', 'mountns')
if (missing === undefined) await suite()
else t.plan(0, missing)

async function suite(): Promise<void> {
  const OPTS = 'nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,nosuid,nodev'
  const ns = createNetns(t, 'efsr')
  const dir = scratchDir(t, 'efsr')
  const scenarioFile = join(dir, 'scenario.json')
  const requests = join(dir, 'requests.log')
  writeFileSync(scenarioFile, '{}')
  writeFileSync(requests, '')
  const inNs = (argv: string[]) => [...ns.exec, 'env', '-u', 'NODE_OPTIONS', ...argv]

  await Promise.all([
    spawnReady(t, 'the fake AWS API', inNs([process.execPath, join(ROOT, 'test/fixtures/fake-aws.mjs'), scenarioFile, requests])),
    // Mount targets that accept TCP 2049 (127.0.0.4 is one that does not).
    spawnReady(
      t,
      'the mount targets',
      inNs([process.execPath, join(ROOT, 'test/fixtures/listen.mjs'), 'tcp:127.0.0.2:2049', 'tcp:127.0.0.3:2049', 'tcp:127.0.0.5:2049']),
    ),
  ])

  const FS = { byDns: 'fs-0bbb2222', byApi: 'fs-0aaa1111' }
  const users = [
    { uid: 'dns', home: `/import/${FS.byDns}/1/dns` },
    { uid: 'api', home: `/import/${FS.byApi}/1/api` },
    { uid: 'foreign', home: `/import/${FS.byApi}.efs.us-east-1.example.com/1/foreign` },
    { uid: 'zoned', home: `/import/us-east-1a.${FS.byApi}.efs.us-east-1.amazonaws.com/1/zoned` },
    { uid: 'cross', home: '/import/fs-0ddd4444/1/cross' },
    { uid: 'named', home: '/import/fs-0eee5555/1/named' },
    ...['good', 'chain', 'a', 'other'].map((n) => ({ uid: `c${n}`, home: `/import/homes-${n}.example.edu/1/c${n}` })),
  ]
  await startSlapd(t, users, { netns: ns, host: '127.0.0.1' })
  const hosts = join(dir, 'hosts')
  writeFileSync(
    hosts,
    `127.0.0.1 localhost\n127.0.0.5 ${FS.byDns}.efs.us-east-1.amazonaws.com\n127.0.0.2 use1-az2.fs-0ddd4444.efs.us-east-1.amazonaws.com\n127.0.0.3 mt.example.edu\n`,
  )
  const base = `[ldap]\nuri = ldap://127.0.0.1:389\nbase = ou=People,dc=example,dc=edu\ntimeout = 1\n[home]\ndeadline = 6\ncache_file = ${dir}/cache.json\n# Each scenario has its own environment (AWS endpoints, metadata): no agent, which keeps its first.\nagent = false\n[efs]\ntls = false\n`
  const { file: config } = writeConfig(
    t,
    `${base}[server "us-east-1a.${FS.byApi}.efs.us-east-1.amazonaws.com"]\naz = us-east-1b\n[server "fs-0ddd4444"]\ncrossaccount = true\n[server "fs-0eee5555"]\nmount_target_ip = mt.example.edu\n`,
  )
  const { file: noFallback } = writeConfig(t, `${base}fall_back_to_mount_target_ip = false\n`)

  /** The program map for `user`, inside the namespace, with our /etc/hosts and the AWS endpoints on loopback. */
  async function map(user: string, scenario: object, configFile = config, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
    return inside(scenario, [process.execPath, ...extra, MAP_BIN, user], configFile, env)
  }

  // An empty /etc/auto.master.d for doctor, so it reads ours and not the host's.
  const masterD = scratchDir(t, 'master-d')

  // DNS with CNAMEs: dnsmasq in the namespace; and a resolver that never answers.
  const FS_CNAMED = 'fs-0ccc3333'
  const CNAMED = `${FS_CNAMED}.efs.us-east-1.amazonaws.com`
  const dns = inNs([
    'dnsmasq',
    '-k',
    '--no-resolv',
    '--no-hosts',
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--port=53',
    '--local=/example.edu/',
    '--local=/amazonaws.com/',
    `--host-record=${CNAMED},127.0.0.2`,
    '--host-record=homes-a.example.edu,127.0.0.2',
    '--host-record=www.example.edu,127.0.0.9',
    `--cname=homes-good.example.edu,${CNAMED}`,
    `--cname=homes-mid.example.edu,${CNAMED}`,
    '--cname=homes-chain.example.edu,homes-mid.example.edu',
    '--cname=homes-other.example.edu,www.example.edu',
  ])
  spawnOwned(t, dns[0]!, dns.slice(1))
  await spawnReady(
    t,
    'a DNS server that never answers',
    inNs([process.execPath, '-e', "require('dgram').createSocket('udp4').bind(53, '127.0.0.54', () => console.log('ready'))"]),
  )
  const askDns = inNs([
    process.execPath,
    '-e',
    "const r = new (require('dns').Resolver)({ timeout: 500, tries: 1 }); r.setServers(['127.0.0.1']); r.resolve4('www.example.edu', (e) => process.exit(e ? 1 : 0))",
  ])
  await waitFor('dnsmasq to answer', async () =>
    (await runCommand(askDns[0]!, askDns.slice(1), { PATH: process.env.PATH })).code === 0 ? true : undefined,
  )
  const resolvConf = join(dir, 'resolv.conf')
  writeFileSync(resolvConf, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n')
  const deafResolvConf = join(dir, 'resolv-deaf.conf')
  writeFileSync(deafResolvConf, 'nameserver 127.0.0.54\noptions timeout:3 attempts:3\n')

  async function inside(scenario: object, command: string[], configFile: string, env: NodeJS.ProcessEnv = {}, resolver = resolvConf) {
    writeFileSync(scenarioFile, JSON.stringify(scenario))
    writeFileSync(requests, '')
    const mounts =
      'mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/auto.master.d && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"'
    const inside = ['unshare', '-m', '--propagation', 'private', 'bash', '-c', mounts, hosts, masterD, resolver, ...command]
    const r = await runCommand(ns.exec[0]!, [...ns.exec.slice(1), 'env', '-u', 'NODE_OPTIONS', ...inside], {
      PATH: process.env.PATH,
      EFS_HOME_CONFIG: configFile,
      AWS_ENDPOINT_URL_EFS: 'http://127.0.0.1:8080',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:8081/',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_REGION: 'us-east-1',
      ...env,
    })
    return { ...r, requests: readFileSync(requests, 'utf8') }
  }

  const twoZones = (first = '127.0.0.2', second = '127.0.0.3', state = 'available') => ({
    [FS.byApi]: {
      status: 200,
      targets: [
        { ip: first, azId: 'use1-az1', az: 'us-east-1a', state },
        { ip: second, azId: 'use1-az2', az: 'us-east-1b', state },
      ],
    },
  })

  t.test('the DNS name resolves: mounted by name, the EFS API never asked, the SDK never loaded', async (t) => {
    const traced = async (user: string, scenario: object) => {
      const trace = join(scratchDir(t), 'imports')
      writeFileSync(trace, '')
      const r = await map(user, scenario, config, ['--import', join(ROOT, 'test/fixtures/trace-imports.mjs')], {
        EFS_HOME_TRACE_IMPORTS: trace,
      })
      return { ...r, loaded: readFileSync(trace, 'utf8') }
    }
    const r = await traced('dns', {})
    t.same(
      { code: r.code, stdout: r.stdout, stderr: r.stderr },
      { code: 0, stdout: `-fstype=nfs4,${OPTS} ${FS.byDns}.efs.us-east-1.amazonaws.com:/1/dns\n`, stderr: '' },
    )
    t.equal(r.requests, '', 'no API or metadata request')
    t.notMatch(r.loaded, 'node_modules/@aws-sdk/', 'the AWS SDK is not loaded')
    t.match((await traced('api', { efs: twoZones() })).loaded, 'node_modules/@aws-sdk/client-efs/', '(it is, on the fallback path)')
  })

  t.test('no DNS: a mount target from the API, in the instance zone first', async (t) => {
    const r = await map('api', { efs: twoZones(), imds: { azId: 'use1-az2', az: 'us-east-1b' } })
    t.same({ code: r.code, stdout: r.stdout }, { code: 0, stdout: `-fstype=nfs4,${OPTS} 127.0.0.3:/1/api\n` }, r.stderr)
    t.match(r.requests, `efs GET /2015-02-01/mount-targets?FileSystemId=${FS.byApi}`)
    t.match(r.requests, /imds PUT \/latest\/api\/token\n[\s\S]*imds GET \/latest\/meta-data\/placement\/availability-zone-id/)
    t.match(
      await map('api', { efs: twoZones(), imds: { az: 'us-east-1b' } }),
      { stdout: /127\.0\.0\.3:\/1\/api/ },
      'by zone name when the id is missing',
    )
    t.match(
      await map('api', { efs: twoZones(), imds: { absent: true } }),
      { code: 0, stdout: /127\.0\.0\.2:\/1\/api/ },
      'no metadata: any reachable one',
    )
    t.match(
      await map('api', { efs: twoZones(), imds: { azId: 'use1-az2', delayMs: 8000 } }),
      { code: 0, stdout: /127\.0\.0\.2:\/1\/api/ },
      'slow metadata: given up on, any reachable one',
    )
    t.match(
      await map('api', { efs: twoZones('127.0.0.3', '127.0.0.4'), imds: { azId: 'use1-az2' } }),
      { code: 0, stdout: /127\.0\.0\.3:\/1\/api/ },
      'the preferred one unreachable: the next',
    )
  })

  t.test('API faults and hopeless answers: one line on stderr, no entry', async (t) => {
    const cases: [string, object, RegExp][] = [
      ['FileSystemNotFound', { [FS.byApi]: { status: 404, error: 'FileSystemNotFound' } }, /FileSystemNotFound/],
      ['AccessDenied', { [FS.byApi]: { status: 403, error: 'AccessDeniedException' } }, /AccessDenied/],
      ['throttling', { [FS.byApi]: { status: 400, error: 'ThrottlingException' } }, /Throttling|Rate exceeded/i],
      ['malformed JSON', { [FS.byApi]: { raw: '{"MountTargets": [' } }, /no mount target from the EFS API: .+/],
      ['an empty list', { [FS.byApi]: { status: 200, targets: [] } }, /fs-0aaa1111 has no mount targets/],
      ['all creating', twoZones('127.0.0.2', '127.0.0.3', 'creating'), /none of the 2 mount targets of fs-0aaa1111 is available/],
      ['all unreachable', twoZones('127.0.0.4', '127.0.0.6'), /no mount target of fs-0aaa1111 accepts TCP 2049/],
      ['an API that never answers', { [FS.byApi]: { status: 200, targets: [], delayMs: 60000 } }, /no mount target from the EFS API/],
    ]
    for (const [what, efs, why] of cases) {
      const r = await map('api', { efs, imds: { azId: 'use1-az1' } })
      t.equal(r.code, 1, what)
      t.equal(r.stdout, '', `${what}: no entry`)
      t.match(
        r.stderr,
        new RegExp(
          `^efs-home-map: ${FS.byApi}\\.efs\\.us-east-1\\.amazonaws\\.com does not resolve, and no mount target from the EFS API: `,
        ),
        what,
      )
      t.match(r.stderr, why, what)
      t.match(r.stderr, /^[^\n]*\n$/, `${what}: one line`)
    }
  })

  t.test('crossaccount: the zone-id name of the instance zone; mount_target_ip by name', async (t) => {
    t.match(await map('cross', { imds: { azId: 'use1-az2' } }), {
      code: 0,
      stdout: `-fstype=nfs4,${OPTS} use1-az2.fs-0ddd4444.efs.us-east-1.amazonaws.com:/1/cross\n`,
    })
    t.match(await map('cross', { imds: { absent: true } }), {
      code: 1,
      stdout: '',
      stderr: /crossaccount needs this instance's availability zone id/,
    })
    t.match(await map('named', {}), { code: 0, stdout: `-fstype=nfs4,${OPTS} 127.0.0.3:/1/named\n` })
  })

  t.test('names efs-utils refuses, and the fallback switched off', async (t) => {
    t.match(await map('foreign', {}), { code: 1, stdout: '', stderr: /does not end in the configured DNS suffix amazonaws\.com/ })
    t.match(await map('zoned', {}), {
      code: 1,
      stdout: '',
      stderr: /names zone us-east-1a, but its \[server\] section says az = us-east-1b/,
    })
    const off = await map('api', { efs: twoZones() }, noFallback)
    t.match(off, { code: 1, stdout: '', stderr: /does not resolve, and \[efs\] fall_back_to_mount_target_ip is off/ })
    t.equal(off.requests, '', 'and the API is not asked')
  })

  t.test('efs-home doctor: one line per check, what to fix, exit 1 if any fails', async (t) => {
    const { file } = writeConfig(
      t,
      `[ldap]\nuri = ldap://127.0.0.1:389 ldap://127.0.0.1:1\nbase = ou=People,dc=example,dc=edu\ntimeout = 1\n[home]\ncache_file = ${dir}/cache2.json\nagent = false\n` +
        `[efs]\ntls = false\n[firewall]\nbackend = nft\n[server "${FS.byDns}"]\n[server "${FS.byApi}"]\n`,
    )
    const scenario = { efs: twoZones(), imds: { azId: 'use1-az2' } }
    const doctor = (args: string[]) =>
      inside(scenario, [process.execPath, EFS_HOME_BIN, 'doctor', ...args, '--source', '/nonexistent'], file)
    const r = await doctor(['dns'])
    t.equal(r.code, 1, 'something fails')
    const lines = r.stdout.trim().split('\n')
    t.match(lines, [
      /^ok {3}config: /,
      /^ok {3}ldap ldap:\/\/127\.0\.0\.1:389: answers for ou=People,dc=example,dc=edu$/,
      /^FAIL ldap ldap:\/\/127\.0\.0\.1:1: .*ECONNREFUSED.* \(fix: check the URI/,
      new RegExp(`^ok   efs ${FS.byDns} address: ${FS.byDns}\\.efs\\.us-east-1\\.amazonaws\\.com \\(dns`),
      new RegExp(`^ok   efs ${FS.byDns} tcp 2049: `),
      new RegExp(`^ok   efs ${FS.byApi} address: 127\\.0\\.0\\.3 \\(api: .*does not resolve`),
      new RegExp(`^ok   efs ${FS.byApi} tcp 2049: 127\\.0\\.0\\.3:2049 accepts connections$`),
      /^FAIL firewall: IPv4: chain EFS-HOME is not loaded.* \(fix: efs-home firewall apply\)$/,
      /^ok {3}forwarding: this host forwards no packets/,
      /^FAIL autofs: \/etc\/auto\.master\.d\/home\.autofs does not name efs-home-map/,
      /^ok {3}lookup agent: off \(\[home\] agent = false\)/,
      new RegExp(`^ok   lookup dns: -fstype=nfs4,${OPTS} ${FS.byDns}\\.efs\\.us-east-1\\.amazonaws\\.com:/1/dns$`),
    ])
    writeFileSync(join(masterD, 'home.autofs'), `/home program:${THIN_MAP} --timeout=300\n`)
    // Loaded, but the API-only file system's DNS name cannot be protected by name: reported, exit 1.
    t.equal((await inside(scenario, [process.execPath, EFS_HOME_BIN, 'firewall', 'apply', '--source', '/nonexistent'], file)).code, 1)
    const json = JSON.parse((await doctor(['--json'])).stdout) as { check: string; ok: boolean; detail: string }[]
    t.same(
      json.filter((c) => !c.ok).map((c) => c.check),
      ['ldap ldap://127.0.0.1:1', 'firewall'],
      'autofs fixed; the rest as before',
    )
    t.match(json.find((c) => c.check === 'autofs')?.detail, /runs .*maps\/efs-home-map, the thin map \(the fast path\)$/)
    writeFileSync(join(masterD, 'home.autofs'), `/home program:${MAP_BIN} --timeout=300\n`)
    const nodeMap = (JSON.parse((await doctor(['--json'])).stdout) as { check: string; ok: boolean; detail: string }[]).find(
      (c) => c.check === 'autofs',
    )
    t.match(nodeMap, {
      ok: true,
      detail: /runs .*efs-home-map\.js, the Node map: every lookup starts Node; link it to the package's maps\/efs-home-map/,
    })
    writeFileSync(join(masterD, 'home.autofs'), '/home program:/nonexistent/efs-home-map --timeout=300\n')
    const missing = (JSON.parse((await doctor(['--json'])).stdout) as { check: string; ok: boolean; detail: string }[]).find(
      (c) => c.check === 'autofs',
    )
    t.match(
      missing,
      { ok: false, detail: /runs \/nonexistent\/efs-home-map: .*no such file/i },
      'a master map naming a program that is not there',
    )
    writeFileSync(join(masterD, 'home.autofs'), `/home program:${THIN_MAP} --timeout=300\n`)
    t.equal(
      json.find((c) => c.check === 'firewall')?.detail,
      `${FS.byApi}.efs.us-east-1.amazonaws.com does not resolve`,
      'the rules are in step; the unresolvable name is what remains',
    )
    // A host that forwards packets (for containers or VMs): the owner rules do not see its guests.
    t.equal(
      (await runCommand(ns.exec[0]!, [...ns.exec.slice(1), 'sysctl', '-w', 'net.ipv4.ip_forward=1'], { PATH: process.env.PATH })).code,
      0,
    )
    const forwarding = (JSON.parse((await doctor(['--json'])).stdout) as { check: string; ok: boolean; detail: string }[]).find(
      (c) => c.check === 'forwarding',
    )
    t.match(forwarding, {
      ok: false,
      detail:
        /this host forwards packets \(\/proc\/sys\/net\/ipv4\/ip_forward = 1\): containers or VMs routed through it reach EFS on 2049 unchecked/,
    })
    await runCommand(ns.exec[0]!, [...ns.exec.slice(1), 'sysctl', '-w', 'net.ipv4.ip_forward=0'], { PATH: process.env.PATH })
  })

  t.test(
    "firewall, nfs_scope = efs: every zone's mount target from the EFS API; a file system whose zones cannot all be known is reported",
    async (t) => {
      if (skipWithout(t, 'owner-nft')) return
      const [probeCopy] = nobodyCopies(t, 'probe.mjs')
      const probe = async (as: 'root' | 'nobody', host: string) => {
        const user = as === 'nobody' ? AS_NOBODY : []
        return (
          await runCommand(
            ns.exec[0]!,
            [...ns.exec.slice(1), ...user, 'env', '-u', 'NODE_OPTIONS', process.execPath, probeCopy!, 'tcp', host, '2049'],
            { PATH: process.env.PATH },
          )
        ).stdout.trim()
      }
      const { file } = writeConfig(t, `${base}[firewall]\nbackend = nft\nipv6 = false\nnfs_scope = efs\n[server "${FS.byDns}"]\n`)
      // The file system resolves here to 127.0.0.5 (this zone); the API knows its targets in two more.
      const zones = { [FS.byDns]: twoZones()[FS.byApi] }
      const firewall = (action: string, efs: object) =>
        inside({ efs }, [process.execPath, EFS_HOME_BIN, 'firewall', action, '--source', '/nonexistent'], file)
      const applied = await firewall('apply', zones)
      t.equal(applied.code, 0, applied.stderr)
      t.match(applied.requests, `efs GET /2015-02-01/mount-targets?FileSystemId=${FS.byDns}`)
      for (const host of ['127.0.0.5', '127.0.0.2', '127.0.0.3']) {
        t.equal(await probe('root', host), 'open', `${host}: root reaches it`)
        t.equal(await probe('nobody', host), 'refused', `${host}: nobody is refused`)
      }
      t.match(await firewall('check', zones), { code: 0, stdout: /in step/ })

      // The API cannot answer: what is known is applied, the gap is reported, and doctor fails.
      const denied = { [FS.byDns]: { status: 403, error: 'AccessDeniedException' } }
      const partial = await firewall('apply', denied)
      t.equal(partial.code, 1)
      t.match(
        partial.stderr,
        new RegExp(
          `^efs-home: firewall: ${FS.byDns} is only partly covered: DescribeMountTargets for ${FS.byDns} failed \\(.*AccessDenied.*\\); non-root processes may reach its mount targets in other zones: give this host elasticfilesystem:DescribeMountTargets, or set \\[firewall\\] nfs_scope = all\\n$`,
        ),
      )
      t.equal(await probe('nobody', '127.0.0.5'), 'refused', 'the address DNS gave is still protected')
      const doctor = await inside({ efs: denied }, [process.execPath, EFS_HOME_BIN, 'doctor', '--source', '/nonexistent', '--json'], file)
      const check = (JSON.parse(doctor.stdout) as { check: string; ok: boolean; detail: string }[]).find((c) => c.check === 'firewall')
      t.match(check, { ok: false, detail: new RegExp(`${FS.byDns} is only partly covered`) })

      // nfs_scope = all (the default) needs no API at all: nobody is refused on any 2049.
      const { file: all } = writeConfig(t, `${base}[firewall]\nbackend = nft\nipv6 = false\n[server "${FS.byDns}"]\n`)
      const everywhere = await inside(
        { efs: denied },
        [process.execPath, EFS_HOME_BIN, 'firewall', 'apply', '--source', '/nonexistent'],
        all,
      )
      t.equal(everywhere.code, 0, everywhere.stderr)
      t.equal(everywhere.requests, '', 'the EFS API is not asked')
      for (const host of ['127.0.0.2', '127.0.0.3']) t.equal(await probe('nobody', host), 'refused', `${host}: nobody is refused`)
      t.equal(await probe('root', '127.0.0.2'), 'open', 'root still reaches the mount targets')
      await inside({}, [process.execPath, EFS_HOME_BIN, 'firewall', 'remove'], all)
    },
  )

  t.test('TLS for a custom name: a CNAME (chain) to the EFS DNS name gives the file system; anything else is refused', async (t) => {
    // The proxies these lookups start write under `dir`: stop them when done.
    t.teardown(() => killNetnsProcesses(ns, (argv) => argv.includes('proxy')))
    const { file } = writeConfig(
      t,
      `${base}host_pattern = ^homes-\ntls = true\nca_file = /etc/ssl/certs/ca-certificates.crt\nport_range = 400-410\n[proxy]\nstate_dir = ${dir}/run\nport_file = ${dir}/ports.json\n`,
    )
    for (const user of ['cgood', 'cchain']) {
      const r = await inside({}, [process.execPath, MAP_BIN, user], file)
      t.match(
        r,
        { code: 0, stdout: new RegExp(`^-fstype=nfs4,${OPTS},port=40\\d,nobind 127\\.0\\.0\\.1:/1/${user}\\n$`) },
        `${user}: ${r.stderr}`,
      )
    }
    t.match(
      JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')),
      { ports: { [FS_CNAMED]: Number } },
      'the proxy is the file system the CNAME names',
    )
    t.match(await inside({}, [process.execPath, MAP_BIN, 'ca'], file), {
      code: 1,
      stdout: '',
      stderr: /homes-a\.example\.edu needs TLS, which needs its file system id, and the name is not a CNAME to an EFS DNS name: set fs_id/,
    })
    t.match(await inside({}, [process.execPath, MAP_BIN, 'cother'], file), {
      code: 1,
      stdout: '',
      stderr: /not a CNAME to an EFS DNS name \(it leads to www\.example\.edu\)/,
    })
    const deaf = await inside({}, [process.execPath, MAP_BIN, 'cgood'], file, {}, deafResolvConf)
    t.match(
      deaf,
      {
        code: 1,
        stdout: '',
        stderr: /cannot tell which file system homes-good\.example\.edu is: the CNAME of homes-good\.example\.edu timed out after 2\.0 s/,
      },
      'a DNS server that never answers: bounded',
    )
  })
}
