// End to end: the real automount daemon runs the built efs-home-map for
// /home lookups and hands the entry to the (fake) NFS mount helper.

import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EFS_ID, siteConfig, writeConfig } from './fixtures/config.js'
import { MAP_BIN, ROOT } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'
import { startGanesha } from './fixtures/ganesha.js'
import { connect, createNetns } from './fixtures/netns.js'
import { startSlapd } from './fixtures/slapd.js'

const EFS_OPTS = 'nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport'
const EFS_DNS = `${EFS_ID}.efs.us-east-1.amazonaws.com`

// Two hosts: the client runs automount; the server (10.255.0.1) runs LDAP
// and an NFS server that answers automount's availability probe.
const SERVER_IP = '10.255.0.1'
const serverNs = createNetns(t, 'srv')
const clientNs = createNetns(t, 'cli')
connect(serverNs, `${SERVER_IP}/24`, clientNs, '10.255.0.2/24')
await startGanesha(t, { address: SERVER_IP, port: 2049, netns: serverNs })
const slapd = await startSlapd(t, [
  { uid: 'alice', home: '/import/nw-syd-efs1/1/alice' },
  { uid: 'bob', home: '/import/kamen/2/bob' },
  { uid: 'carol', home: `/import/${EFS_ID}/1/carol` },
  { uid: 'dave', home: '/import/kamen.cse.example.edu/3/dave' },
  { uid: 'mallory', home: '/import/kamen/1/../../etc' },
], { netns: serverNs, host: SERVER_IP })
const { file: configFile } = writeConfig(t, siteConfig([slapd.url], '{dir}'))

interface Outcome {
  readonly results: Map<string, { status: number; listing: string }>
  readonly mountCalls: string[]
  readonly log: string
}

async function runAutomount(t: Test, keys: string[]): Promise<{ work: string; outcome: Outcome }> {
  const work = scratchDir(t, 'automount')
  writeFileSync(join(work, 'hosts'), `127.0.0.1 localhost\n${SERVER_IP} nw-syd-efs1 kamen kamen.cse.example.edu ${EFS_DNS}\n`)
  writeFileSync(join(work, 'autofs.conf'), '[ autofs ]\ntimeout = 300\nnegative_timeout = 1\nbrowse_mode = no\n')
  writeFileSync(join(work, 'mount.nfs'), readFileSync(join(ROOT, 'test/automount/fake-mount-nfs.sh'), 'utf8').replace('__WORK__', work))
  chmodSync(join(work, 'mount.nfs'), 0o755)
  const master = join(work, 'auto.master')
  writeFileSync(master, `${work}/home program:${MAP_BIN} --timeout=10\n`)
  t.teardown(() => {
    // The daemon runs in its own session: stop it by PID even if the script was killed.
    const pidFile = join(work, 'automount.pid')
    if (!existsSync(pidFile)) return
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL')
    } catch {
      // already gone
    }
  })
  const child = spawn(clientNs.exec[0]!, [...clientNs.exec.slice(1), 'unshare', '-m', '--propagation', 'private', 'bash', join(ROOT, 'test/automount/run-automount.sh'), work, master, ...keys.map((k) => `${work}/home/${k}`)], {
    env: { PATH: `${process.env.PATH}`, EFS_HOME_CONFIG: configFile },
    stdio: ['ignore', 'inherit', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  t.equal(code, 0, `automount ran (${stderr.trim()})`)
  const results = new Map<string, { status: number; listing: string }>()
  for (const line of readFileSync(join(work, 'results'), 'utf8').split('\n').filter(Boolean)) {
    const [path, status, listing] = line.split('\t')
    results.set(path!.slice(`${work}/home/`.length), { status: Number(status), listing: listing ?? '' })
  }
  const callsFile = join(work, 'mount-calls')
  const mountCalls = existsSync(callsFile) ? readFileSync(callsFile, 'utf8').split('\n').filter(Boolean) : []
  return { work, outcome: { results, mountCalls, log: readFileSync(join(work, 'automount.log'), 'utf8') } }
}

t.test('ls /home/USER mounts each kind of home with the right arguments', async (t) => {
  const { work, outcome } = await runAutomount(t, ['alice', 'bob', 'carol', 'dave', 'nobody', 'mallory', '*'])
  const home = `${work}/home`
  t.match(outcome.results.get('alice'), { status: 0, listing: 'mounted-from-nw-syd-efs1__1_alice' })
  t.match(outcome.results.get('bob'), { status: 0, listing: 'mounted-from-kamen__export_kamen_2_bob' })
  t.match(outcome.results.get('carol'), { status: 0 })
  t.match(outcome.results.get('dave'), { status: 0 })
  for (const key of ['nobody', 'mallory', '*']) {
    t.match(outcome.results.get(key), { status: 2, listing: /No such file or directory/ }, `${key}: ENOENT`)
  }
  t.same(outcome.mountCalls.sort(), [
    `mount.nfs ${'kamen.cse.example.edu'}:/srv/homes/3/dave ${home}/dave -s -n -o rw,vers=4.2`,
    `mount.nfs kamen:/export/kamen/2/bob ${home}/bob -s -n -o rw,vers=4`,
    `mount.nfs4 ${EFS_DNS}:/1/carol ${home}/carol -s -n -o rw,${EFS_OPTS}`,
    `mount.nfs4 nw-syd-efs1:/1/alice ${home}/alice -s -n -o rw,${EFS_OPTS}`,
  ].sort())
  t.match(outcome.log, `lookup(program): alice -> -fstype=nfs4,${EFS_OPTS} nw-syd-efs1:/1/alice`)
  t.match(outcome.log, />> efs-home-map: no LDAP entry for 'nobody'/)
  t.match(outcome.log, />> efs-home-map: refused home location/)
  t.notMatch(outcome.log, /attempt bind mount/, 'no home became a bind mount of a host path')
})
