// End to end: the real automount daemon runs the built efs-home-map for
// /home lookups and hands the entry to the (fake) NFS mount helper.

import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { EFS_ID, siteConfig, writeConfig } from './fixtures/config.js'
import { EFS_HOME_BIN, MAP_BIN, MAP_GEN_BIN, runNode, THIN_MAP } from './fixtures/run.js'
import { startGanesha } from './fixtures/ganesha.js'
import { connect, createNetns, killNetnsProcesses } from './fixtures/netns.js'
import { startSlapd } from './fixtures/slapd.js'
import { startStunnel } from './fixtures/stunnel.js'
import { makeTestCa } from './fixtures/tls.js'
import { kernelTests } from './fixtures/vm.js'
import { callWith, canonical, prepareWork as prepareAutomount, runAutomount } from './fixtures/automount.js'
import type { Netns } from './fixtures/netns.js'

const EFS_OPTS = 'nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,nosuid,nodev'
const EFS_DNS = `${EFS_ID}.efs.us-east-1.amazonaws.com`

// Two hosts: the client runs automount; the server (10.255.0.1) runs LDAP
// and an NFS server that answers automount's availability probe.
const SERVER_IP = '10.255.0.1'
const TLS_FS = 'fs-12345678'
// Here where this kernel has what they need, else in a VM of Debian's kernel.
const test = kernelTests(t, import.meta.url, 'autofs', 'netns', 'veth', 'mountns')

interface Hosts {
  readonly serverNs: Netns
  readonly clientNs: Netns
  readonly ldapUrl: string
  readonly configFile: string
}

async function startHosts(): Promise<Hosts> {
  const serverNs = createNetns(t, 'srv')
  const clientNs = createNetns(t, 'cli')
  connect(serverNs, `${SERVER_IP}/24`, clientNs, '10.255.0.2/24')
  await startGanesha(t, { address: SERVER_IP, port: 2049, netns: serverNs })
  const slapd = await startSlapd(
    t,
    [
      { uid: 'alice', home: '/import/nw-syd-efs1/1/alice', web: '/import/kamen/7/alice' },
      { uid: 'bob', home: '/import/kamen/2/bob', web: '/import/nw-syd-efs1/3/bob' },
      { uid: 'carol', home: `/import/${EFS_ID}/1/carol` },
      { uid: 'dave', home: '/import/kamen.cse.example.edu/3/dave' },
      { uid: 'mallory', home: '/import/kamen/1/../../etc' },
      { uid: 'tess', home: `/import/${TLS_FS}/1/tess` },
    ],
    { netns: serverNs, host: SERVER_IP },
  )
  const { file: configFile } = writeConfig(t, siteConfig([slapd.url], '{dir}'))
  return { serverNs, clientNs, ldapUrl: slapd.url, configFile }
}

const prepareWork = (t: Test) => prepareAutomount(t, `${SERVER_IP} nw-syd-efs1 kamen kamen.cse.example.edu ${EFS_DNS}`)

// Started once, by the first test that runs.
let started: Promise<Hosts> | undefined
const hosts = (): Promise<Hosts> => (started ??= startHosts())

test('ls /home/USER mounts each kind of home with the right arguments, the thin map asking the agent', async (t) => {
  const { clientNs, configFile } = await hosts()
  const work = prepareWork(t)
  const home = `${work}/home`
  const keys = ['alice', 'bob', 'carol', 'dave', 'nobody', 'mallory', '*']
  const agentPidFile = join(dirname(configFile), 'agent', 'agent.pid')
  const status = `${process.execPath} ${EFS_HOME_BIN} agent status --json`
  const outcome = await runAutomount(
    t,
    clientNs,
    work,
    [`${home} program:${THIN_MAP} --timeout=10`],
    [
      // The first lookup finds no agent: the Node map answers and starts one, which answers the rest.
      `${home}/${keys[0]}`,
      `run:for i in $(seq 100); do [ -e ${agentPidFile} ] && exit 0; sleep 0.1; done; exit 1`,
      ...keys.slice(1).map((k) => `${home}/${k}`),
      `run:env -u NODE_OPTIONS ${status} > ${work}/agent-status.json`,
    ],
    configFile,
  )
  t.match(
    JSON.parse(readFileSync(`${work}/agent-status.json`, 'utf8')),
    { up: true, answeredThin: 3 },
    'bob, carol and dave: answered by the agent, asked by the thin map',
  )
  const result = (key: string) => outcome.results.get(`${home}/${key}`)
  t.match(result('alice'), { status: 0, listing: 'mounted-from-nw-syd-efs1__1_alice' })
  t.match(result('bob'), { status: 0, listing: 'mounted-from-kamen__export_kamen_2_bob' })
  t.match(result('carol'), { status: 0 })
  t.match(result('dave'), { status: 0 })
  for (const key of ['nobody', 'mallory', '*']) {
    t.match(result(key), { status: 2, listing: /No such file or directory/ }, `${key}: ENOENT`)
  }
  t.same(
    outcome.mountCalls.sort(),
    [
      `mount.nfs ${'kamen.cse.example.edu'}:/srv/homes/3/dave ${home}/dave -s -n -o rw,vers=4.2,nosuid,nodev`,
      `mount.nfs kamen:/export/kamen/2/bob ${home}/bob -s -n -o rw,vers=4,nosuid,nodev`,
      `mount.nfs4 ${EFS_DNS}:/1/carol ${home}/carol -s -n -o rw,${EFS_OPTS}`,
      `mount.nfs4 nw-syd-efs1:/1/alice ${home}/alice -s -n -o rw,${EFS_OPTS}`,
    ]
      .map(canonical)
      .sort(),
  )
  t.match(outcome.log, `lookup(program): alice -> -fstype=nfs4,${EFS_OPTS} nw-syd-efs1:/1/alice`)
  t.match(outcome.log, />> efs-home-map: no LDAP entry for 'nobody'/)
  t.match(outcome.log, />> efs-home-map: refused home location/)
  t.notMatch(outcome.log, /attempt bind mount/, 'no home became a bind mount of a host path')
})

test('the generated static map: automount mounts /import paths, and re-reads the map on --reload', async (t) => {
  const { clientNs, ldapUrl } = await hosts()
  const work = prepareWork(t)
  const importRoot = `${work}/import`
  const { file: config, dir } = writeConfig(t, siteConfig([ldapUrl], '{dir}', `[home]\nimport_root = ${importRoot}\n`))
  const source = join(dir, 'auto_static.cfg')
  const output = join(dir, 'auto.static')
  writeFileSync(source, 'kamen/1\nnw-syd-efs1/2\n')
  const mapGen = `${MAP_GEN_BIN} --source ${source} --output ${output}`
  const generated = await runNode(MAP_GEN_BIN, ['--source', source, '--output', output], {
    PATH: process.env.PATH,
    EFS_HOME_CONFIG: config,
  })
  t.equal(generated.code, 0, generated.stderr)
  const outcome = await runAutomount(
    t,
    clientNs,
    work,
    [`/- ${output}`],
    [
      `${importRoot}/kamen/1`,
      `${importRoot}/nw-syd-efs1/2`,
      `run:automount -m file ${output} > ${work}/dump 2>&1`,
      `run:echo kamen/9 >> ${source} && ${mapGen} --reload --pid-file /run/automount.pid`,
      'run:sleep 1',
      `${importRoot}/kamen/9`,
    ],
    config,
  )
  t.match(outcome.results.get(`${importRoot}/kamen/1`), { status: 0, listing: 'mounted-from-kamen__export_kamen_1' })
  t.match(outcome.results.get(`${importRoot}/nw-syd-efs1/2`), { status: 0 })
  t.match(
    outcome.results.get(`${importRoot}/kamen/9`),
    { status: 0, listing: 'mounted-from-kamen__export_kamen_9' },
    'a map change reached the running daemon',
  )
  t.same(
    outcome.mountCalls.sort(),
    [
      `mount.nfs kamen:/export/kamen/1 ${importRoot}/kamen/1 -s -n -o rw,vers=4,nosuid,nodev`,
      `mount.nfs kamen:/export/kamen/9 ${importRoot}/kamen/9 -s -n -o rw,vers=4,nosuid,nodev`,
      `mount.nfs4 nw-syd-efs1:/2 ${importRoot}/nw-syd-efs1/2 -s -n -o rw,${EFS_OPTS}`,
    ].map(canonical),
  )
  t.match(readFileSync(join(work, 'run.log'), 'utf8'), /written, 3 exports[\s\S]*automount told to re-read its maps \(SIGHUP\)/)
  const dump = readFileSync(join(work, 'dump'), 'utf8')
  for (const key of ['kamen/1', 'nw-syd-efs1/2']) t.match(dump, `${importRoot}/${key}`, `automount -m lists ${key}`)
})

test('a TLS home: the map starts the proxy, the mount goes to 127.0.0.1 through it, never a bind mount', async (t) => {
  const { serverNs, clientNs, ldapUrl } = await hosts()
  // The mount target's TLS endpoint, in front of the server's NFS.
  const ca = makeTestCa(t)
  const name = `${TLS_FS}.efs.us-east-1.amazonaws.com`
  await startStunnel(t, { accept: `${SERVER_IP}:3049`, connect: `${SERVER_IP}:2049`, cert: ca.issue(name, [name]), netns: serverNs })
  const work = prepareWork(t)
  // The proxy the map starts writes its state under `work`: stop it before the directory goes.
  t.teardown(() => killNetnsProcesses(clientNs))
  const home = `${work}/home`
  const { file: config } = writeConfig(
    t,
    siteConfig(
      [ldapUrl],
      '{dir}',
      `[efs]\nca_file = ${ca.caFile}\n[proxy]\nstate_dir = ${work}/efs-run\nport_file = ${work}/efs-lib/ports.json\n[server "${TLS_FS}"]\ntls = true\nmount_target_ip = ${SERVER_IP}\n`,
    ),
  )
  const outcome = await runAutomount(
    t,
    clientNs,
    work,
    [`${home} program:${MAP_BIN} --timeout=10`],
    [`${home}/tess`, `${home}/bob`],
    config,
    { EFS_HOME_TEST_TARGET_PORT: '3049' },
  )
  const ports = JSON.parse(readFileSync(`${work}/efs-lib/ports.json`, 'utf8')) as { ports: Record<string, number> }
  const port = ports.ports[TLS_FS]
  t.ok(port !== undefined, 'a port was assigned')
  t.match(outcome.results.get(`${home}/tess`), { status: 0, listing: 'mounted-from-127.0.0.1__1_tess' })
  t.match(outcome.log, `lookup(program): tess -> -fstype=nfs4,${EFS_OPTS},port=${port},nobind 127.0.0.1:/1/tess`)
  t.ok(
    callWith(
      outcome.mountCalls.find((c) => c.includes('tess')),
      `mount.nfs4 127.0.0.1:/1/tess ${home}/tess -s -n -o rw,${EFS_OPTS},port=${port}`,
    ),
    `mount.nfs4 127.0.0.1:/1/tess on port ${port} (${outcome.mountCalls.join('; ')})`,
  )
  t.notMatch(outcome.log, /attempt bind mount/, 'never a bind mount of a host path')
  t.match(
    readFileSync(`${work}/efs-run/proxy-${TLS_FS}.log`, 'utf8'),
    /conn 1: open to 10\.255\.0\.1:3049 \(TLSv1\.3\)/,
    "automount's probe went through the proxy and TLS",
  )
  t.match(outcome.results.get(`${home}/bob`), { status: 0 }, 'classic NFS next to it')
})

test('/home and /web from the one map: each tree by its mount point; no web location is ENOENT', async (t) => {
  const { clientNs, ldapUrl } = await hosts()
  const work = prepareWork(t)
  const [home, web] = [`${work}/home`, `${work}/web`]
  const { file: config } = writeConfig(t, siteConfig([ldapUrl], '{dir}', `[tree "${web}"]\nattribute = webDirectory\noptions = ro\n`))
  const outcome = await runAutomount(
    t,
    clientNs,
    work,
    [`${home} program:${THIN_MAP} --timeout=10`, `${web} program:${THIN_MAP} --timeout=10`],
    [`${home}/alice`, `${web}/alice`, `${web}/bob`, `${web}/dave`, `${web}/*`],
    config,
  )
  t.match(outcome.results.get(`${home}/alice`), { status: 0, listing: 'mounted-from-nw-syd-efs1__1_alice' })
  t.match(outcome.results.get(`${web}/alice`), { status: 0, listing: 'mounted-from-kamen__export_kamen_7_alice' })
  t.match(outcome.results.get(`${web}/bob`), { status: 0, listing: 'mounted-from-nw-syd-efs1__3_bob' })
  for (const key of ['dave', '*'])
    t.match(outcome.results.get(`${web}/${key}`), { status: 2, listing: /No such file or directory/ }, `${key}: ENOENT`)
  // automount adds rw or not beside ro as its version does: what matters is the tree's ro and the right export.
  const webMounts = outcome.mountCalls.filter((c) => c.includes(`${web}/`)).sort()
  t.equal(webMounts.length, 2, 'two /web mounts')
  t.ok(callWith(webMounts[0], `mount.nfs kamen:/export/kamen/7/alice ${web}/alice -s -n -o vers=4,ro,nosuid,nodev`), String(webMounts[0]))
  t.ok(callWith(webMounts[1], `mount.nfs4 nw-syd-efs1:/3/bob ${web}/bob -s -n -o ${EFS_OPTS},ro`), String(webMounts[1]))
  t.notMatch(outcome.log, />> efs-home-map: 'dave'/, 'no location in /web is not a line in the log')
})
