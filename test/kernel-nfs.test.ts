// End to end with the kernel's own NFS client and the real automount, as a
// site's first `ls /home/alice` goes: automount → the thin map → the agent
// → slapd → the entry → mount.nfs4 → the efs-home proxy → TLS with a test
// CA → nfs-ganesha behind a TLS terminator on the "EFS" host. Files are
// written through the mount and compared with what the server holds. Here
// where this kernel has an NFS client and autofs, else in a VM of Debian's
// kernel (fixtures/vm.ts); nothing is stood in for.

import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Outcome, prepareWork, runAutomount } from './fixtures/automount.js'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { startGanesha } from './fixtures/ganesha.js'
import { addLoopbackAddress, connect, createNetns, killNetnsProcesses, type Netns, netnsArgvs } from './fixtures/netns.js'
import { EFS_HOME_BIN, ROOT, THIN_MAP } from './fixtures/run.js'
import { runCommand } from './fixtures/processes.js'
import { scratchDir } from './fixtures/scratch.js'
import { startSlapd } from './fixtures/slapd.js'
import { startStunnel } from './fixtures/stunnel.js'
import { makeTestCa } from './fixtures/tls.js'
import { kernelTests } from './fixtures/vm.js'

const test = kernelTests(t, import.meta.url, 'autofs', 'nfs', 'netns', 'veth', 'mountns')

// The "EFS" host: its mount target's TLS endpoint on 2049 (stunnel with a
// test CA's certificate for the file system's name) in front of ganesha.
const SERVER_IP = '10.255.0.1'
const FS = 'fs-12345678'
const FS_NAME = `${FS}.efs.us-east-1.amazonaws.com`
const GANESHA_PORT = 20490
/** The same NFS server as a classic one: an address of the server's that the config does not know as EFS. */
const CLASSIC_IP = '10.255.0.3'

interface Hosts {
  readonly clientNs: Netns
  readonly ldapUrl: string
  readonly caFile: string
  /** The server's side of export /1: what a client wrote, as the server holds it. */
  readonly exportDir: string
}

async function startHosts(): Promise<Hosts> {
  const serverNs = createNetns(t, 'efs')
  const clientNs = createNetns(t, 'cli')
  connect(serverNs, `${SERVER_IP}/24`, clientNs, '10.255.0.2/24')
  addLoopbackAddress(serverNs, `${CLASSIC_IP}/32`)
  const ganesha = await startGanesha(t, { address: '0.0.0.0', port: GANESHA_PORT, pseudo: '/1', netns: serverNs })
  const ca = makeTestCa(t)
  await startStunnel(t, {
    accept: `${SERVER_IP}:2049`,
    connect: `${SERVER_IP}:${GANESHA_PORT}`,
    cert: ca.issue(FS_NAME, [FS_NAME]),
    netns: serverNs,
  })
  const slapd = await startSlapd(t, [{ uid: 'alice', home: `/import/${FS}/1/alice`, web: `/import/${FS}/1/www/alice` }], {
    netns: serverNs,
    host: SERVER_IP,
  })
  for (const dir of ['alice', 'www/alice']) mkdirSync(join(ganesha.exportDir, dir), { recursive: true })
  return { clientNs, ldapUrl: slapd.url, caFile: ca.caFile, exportDir: ganesha.exportDir }
}

let started: Promise<Hosts> | undefined
const hosts = (): Promise<Hosts> => (started ??= startHosts())

/** A config whose file system FS is the server's, over TLS, the proxy's files in `dir`. */
function efsConfig(h: Hosts, dir: string, extra = ''): string {
  return siteConfig(
    [h.ldapUrl],
    '{dir}',
    `[efs]\nca_file = ${h.caFile}\n[proxy]\nstate_dir = ${dir}/efs-run\nport_file = ${dir}/efs-lib/ports.json\n` +
      `[server "${FS}"]\ntls = true\nmount_target_ip = ${SERVER_IP}\n${extra}`,
  )
}

/** automount with /home and /web from the thin map, the real mount.nfs, and a config whose EFS file system is the server's, over TLS. */
async function automount(
  t: Test,
  h: Hosts,
  steps: (dirs: { work: string; home: string; web: string; agentUp: string }) => string[],
): Promise<Outcome & { work: string }> {
  const work = prepareWork(t, `${SERVER_IP} ${FS_NAME}`, true)
  // The proxy and the agent write under `work`: stop them before it goes.
  t.teardown(() => killNetnsProcesses(h.clientNs))
  const [home, web] = [`${work}/home`, `${work}/web`]
  const { file: config, dir } = writeConfig(t, efsConfig(h, work, `[tree "${web}"]\nattribute = webDirectory\noptions = ro\n`))
  const outcome = await runAutomount(
    t,
    h.clientNs,
    work,
    [`${home} program:${THIN_MAP} --timeout=300`, `${web} program:${THIN_MAP} --timeout=300`],
    // agentUp: a step that waits for the agent the first lookup (by the Node map) starts.
    steps({ work, home, web, agentUp: `run:for i in $(seq 300); do [ -e ${dir}/agent/agent.pid ] && exit 0; sleep 0.1; done; exit 1` }),
    config,
  )
  return { ...outcome, work }
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')
/** The checksum sha256sum wrote to `file` (its first word). */
const summed = (file: string) => readFileSync(file, 'utf8').split(' ')[0]

test('ls /home/alice and /web/alice: the kernel mounts through the proxy over TLS; what is written reads back the same', async (t) => {
  const h = await hosts()
  const page = randomBytes(1 << 20)
  writeFileSync(join(h.exportDir, 'www/alice/index.html'), page)
  const outcome = await automount(t, h, ({ work, home, web, agentUp }) => [
    `${home}/alice`,
    agentUp,
    `run:head -c 64M /dev/urandom > ${work}/written && cp ${work}/written ${home}/alice/data && sync`,
    // What the client reads must come from the server, not its page cache.
    `run:echo 3 > /proc/sys/vm/drop_caches && sha256sum ${home}/alice/data > ${work}/read-back.sum`,
    // Counters of a connection still open, as a mount keeps its one (the proxy writes its state every 2 s: polled, bounded).
    `run:for i in $(seq 60); do ${process.execPath} ${EFS_HOME_BIN} proxy status --json > ${work}/proxy-status.json; ` +
      `${process.execPath} -e "process.exit(require('${work}/proxy-status.json')[0]?.bytes.fromEfs >= 64 << 20 ? 0 : 1)" && break; sleep 0.5; done; true`,
    `${web}/alice`,
    `run:sha256sum ${web}/alice/index.html > ${work}/web.sum`,
    `run:touch ${web}/alice/x 2> ${work}/web-write.err; true`,
    `run:grep -E ' nfs4 ' /proc/self/mounts > ${work}/nfs-mounts`,
    `run:env -u NODE_OPTIONS ${process.execPath} ${EFS_HOME_BIN} agent status --json > ${work}/agent-status.json`,
  ])
  const { work } = outcome
  t.match(outcome.results.get(`${work}/home/alice`), { status: 0 })
  const written = sha256(readFileSync(join(work, 'written')))
  t.equal(sha256(readFileSync(join(h.exportDir, 'alice/data'))), written, 'the server holds what was written through the mount')
  t.equal(summed(join(work, 'read-back.sum')), written, 'and it reads back the same, from the server')
  t.equal(summed(join(work, 'web.sum')), sha256(page), '/web/alice reads the tree’s own location')
  t.match(readFileSync(join(work, 'web-write.err'), 'utf8'), /Read-only file system/, '/web is mounted read-only')
  const mounts = readFileSync(join(work, 'nfs-mounts'), 'utf8')
  const port = (JSON.parse(readFileSync(`${work}/efs-lib/ports.json`, 'utf8')) as { ports: Record<string, number> }).ports[FS]
  for (const [tree, path] of [
    ['home', '/1/alice'],
    ['web', '/1/www/alice'],
  ])
    t.match(
      mounts,
      new RegExp(`^127\\.0\\.0\\.1:${path} ${work}/${tree}/alice nfs4 \\S*\\bvers=4\\.1\\b\\S*\\bport=${port}\\b`, 'm'),
      `/${tree}/alice: NFSv4.1 from the proxy's port ${port}`,
    )
  t.notMatch(outcome.log, /attempt bind mount/, 'never a bind mount of a host path')
  t.match(
    readFileSync(`${work}/efs-run/proxy-${FS}.log`, 'utf8'),
    new RegExp(`open to ${SERVER_IP.replace(/\./g, '\\.')}:2049 \\(TLSv1\\.3\\)`),
  )
  const [proxy] = JSON.parse(readFileSync(join(work, 'proxy-status.json'), 'utf8')) as {
    connections: { open: number }
    bytes: { toEfs: number; fromEfs: number }
  }[]
  t.ok(proxy !== undefined && proxy.connections.open >= 1, 'the mount holds its connection open')
  t.ok(
    proxy !== undefined && proxy.bytes.toEfs >= 64 << 20 && proxy.bytes.fromEfs >= 64 << 20,
    `proxy status counts the bytes of that open connection: ${JSON.stringify(proxy?.bytes)}`,
  )
  const status = JSON.parse(readFileSync(join(work, 'agent-status.json'), 'utf8')) as { answeredThin: number }
  t.ok(status.answeredThin >= 1, `the agent answered the thin map (${status.answeredThin})`)
})

test('the proxy SIGKILLed three times during a 256 MiB write and again during its read: the hard mount resumes, the bytes are the same, one proxy remains', async (t) => {
  const h = await hosts()
  // Kills the proxy (by the PID in its state file) each time `file` grows past the next 64 MiB while `dd` runs.
  const killAlong = (file: string, log: string) =>
    [
      `next=$((64 << 20)); kills=0`,
      `while kill -0 $dd 2>/dev/null; do`,
      `  pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' $state)`,
      `  if [ "$(stat -c %s ${file} 2>/dev/null || echo 0)" -ge $next ] && [ $kills -lt 3 ] && kill -KILL "$pid" 2>/dev/null; then`,
      `    echo "killed $pid" >> ${log}; next=$((next + (64 << 20))); kills=$((kills + 1))`,
      '  fi',
      '  sleep 0.1',
      'done',
      'wait $dd',
    ].join('\n')
  const outcome = await automount(t, h, ({ work, home }) => [
    `${home}/alice`,
    `run:head -c 256M /dev/urandom > ${work}/big`,
    `run:state=${work}/efs-run/proxy-${FS}.json; dd if=${work}/big of=${home}/alice/big bs=1M conv=fsync 2>/dev/null & dd=$!\n${killAlong(join(h.exportDir, 'alice/big'), `${work}/kills`)}`,
    `run:echo 3 > /proc/sys/vm/drop_caches; state=${work}/efs-run/proxy-${FS}.json; dd if=${home}/alice/big of=${work}/read-back bs=1M 2>/dev/null & dd=$!\n${killAlong(`${work}/read-back`, `${work}/kills`)}`,
    `run:${process.execPath} ${EFS_HOME_BIN} proxy status --json > ${work}/proxy-status.json`,
  ])
  const { work } = outcome
  const kills = readFileSync(join(work, 'kills'), 'utf8').trim().split('\n')
  t.equal(kills.length, 6, `three kills while writing, three while reading (${kills.join(', ')})`)
  const big = sha256(readFileSync(join(work, 'big')))
  t.equal(sha256(readFileSync(join(h.exportDir, 'alice/big'))), big, 'the server holds every byte written')
  t.equal(sha256(readFileSync(join(work, 'read-back'))), big, 'and every byte read back is the same')
  const proxies = netnsArgvs(h.clientNs).filter((argv) => argv.includes('proxy') && argv.includes('run') && argv.includes(FS))
  t.equal(proxies.length, 1, 'exactly one proxy afterwards')
  t.match(JSON.parse(readFileSync(join(work, 'proxy-status.json'), 'utf8')), [{ fsId: FS, up: true }])
})

test('read-ahead with udevd: an EFS mount gets [efs] read_ahead × rsize, a classic NFS mount keeps its own', async (t) => {
  const h = await hosts()
  const dir = scratchDir(t, 'rahead')
  t.teardown(() => killNetnsProcesses(h.clientNs))
  const { file: config } = writeConfig(t, efsConfig(h, dir))
  // efs-home's own rule, as the rollout installs it, running this build with this config.
  mkdirSync(join(dir, 'rules.d'))
  writeFileSync(
    join(dir, 'rules.d', '99-zz-efs-home-readahead.rules'),
    readFileSync(join(ROOT, 'templates/efs-home-readahead.rules'), 'utf8').replace(
      '/usr/local/bin/efs-home readahead',
      `/usr/bin/env EFS_HOME_CONFIG=${config} ${process.execPath} ${EFS_HOME_BIN} readahead`,
    ),
  )
  const opts = 'vers=4.1,rsize=1048576,nosuid,nodev'
  const script = [
    'set -e',
    // udevd in this mount namespace, so that what it runs sees the mounts made here; only efs-home's rule and the packages' own.
    `mount --bind ${dir}/rules.d /etc/udev/rules.d`,
    'mount -t tmpfs tmpfs /run',
    '/lib/systemd/systemd-udevd --daemon',
    `port=$(env EFS_HOME_CONFIG=${config} ${process.execPath} ${EFS_HOME_BIN} proxy ensure ${FS})`,
    `mkdir -p ${dir}/efs ${dir}/classic`,
    `mount -t nfs4 -o ${opts},port=$port 127.0.0.1:/1 ${dir}/efs`,
    `mount -t nfs4 -o ${opts},port=${GANESHA_PORT} ${CLASSIC_IP}:/1 ${dir}/classic`,
    'udevadm settle --timeout=60',
    `echo "efs $(cat /sys/class/bdi/$(mountpoint -d ${dir}/efs)/read_ahead_kb)"`,
    `echo "classic $(cat /sys/class/bdi/$(mountpoint -d ${dir}/classic)/read_ahead_kb)"`,
    `umount ${dir}/efs ${dir}/classic`,
    'udevadm control --exit',
  ].join('\n')
  const r = await runCommand(
    h.clientNs.exec[0]!,
    [...h.clientNs.exec.slice(1), 'unshare', '-m', '--propagation', 'private', 'bash', '-c', script],
    {
      PATH: process.env.PATH,
    },
  )
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^efs 15360$/m, 'the EFS mount through the proxy: 15 × 1 MiB')
  t.match(r.stdout, /^classic 128$/m, 'the classic NFS server: what nfs-common gives it, not efs-home')
})
