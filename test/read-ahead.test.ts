// EFS mounts read ahead [efs] read_ahead × rsize: `efs-home readahead`, which
// efs-home's udev rule runs for each new NFS backing device, prints the value
// for an EFS mount (through a proxy of ours, or by an EFS name) and nothing
// for anything else. test/kernel-nfs.test.ts has udevd run it for real
// mounts through the proxy.

import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { writeConfig } from './fixtures/config.js'
import { runCommand } from './fixtures/processes.js'
import { EFS_HOME_BIN } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'

const NFS_OPTS = (extra: string) =>
  `rw,vers=4.1,rsize=1048576,wsize=1048576,namlen=255,hard,noresvport,proto=tcp,${extra}timeo=600,retrans=2,sec=sys`

/** A mountinfo of the given mounts (device, fstype, source, super options), and a config. */
function host(t: Test, mounts: [string, string, string, string][], efs = '') {
  const dir = scratchDir(t, 'rahead')
  const mountinfo = join(dir, 'mountinfo')
  const text = mounts.map(
    ([dev, fstype, source, opts], i) => `${100 + i} 26 ${dev} / /m${i} rw,nosuid,nodev,relatime shared:${i} - ${fstype} ${source} ${opts}`,
  )
  writeFileSync(mountinfo, `21 26 0:20 / /proc rw,relatime - proc proc rw\n${text.join('\n')}\n`)
  const { file } = writeConfig(
    t,
    `[ldap]\nuri = ldap://127.0.0.1:1\nbase = dc=x\n[efs]\nhost_pattern = ^nw-syd-efs\n${efs}[server "kamen"]\ntype = nfs\n`,
  )
  const run = (device: string) =>
    runCommand(process.execPath, [EFS_HOME_BIN, 'readahead', device], {
      PATH: process.env.PATH,
      EFS_HOME_CONFIG: file,
      EFS_HOME_MOUNTINFO: mountinfo,
    })
  return { mountinfo, run }
}

t.test('EFS mounts get 15 × rsize; classic NFS, other file systems and unknown devices are left alone', async (t) => {
  const { run } = host(t, [
    ['0:53', 'nfs4', '127.0.0.1:/1/alice', NFS_OPTS('port=250,')],
    ['0:54', 'nfs4', 'fs-0123abcd.efs.us-east-1.amazonaws.com:/1/bob', NFS_OPTS('')],
    ['0:55', 'nfs4', 'nw-syd-efs1:/2/carol', NFS_OPTS('').replace('rsize=1048576', 'rsize=65536')],
    ['0:56', 'nfs4', 'kamen:/export/kamen/2/dave', NFS_OPTS('')],
    ['0:57', 'nfs4', '127.0.0.1:/elsewhere', NFS_OPTS('port=2049,')],
    ['8:1', 'ext4', '/dev/sda1', 'rw'],
    ['0:58', 'nfs4', '[fd00::1]:/x', NFS_OPTS('')],
  ])
  t.match(await run('0:53'), { code: 0, stdout: '15360\n' }, 'through a TLS proxy of ours: 15 MiB')
  t.match(await run('0:54'), { code: 0, stdout: '15360\n' }, 'by its EFS DNS name')
  t.match(await run('0:55'), { code: 0, stdout: '960\n' }, 'an alias by host_pattern, with a smaller rsize')
  for (const [dev, what] of <[string, string][]>[
    ['0:56', 'a classic NFS server'],
    ['0:57', 'loopback outside the proxy ports'],
    ['8:1', 'not NFS'],
    ['0:58', 'an address efs-home does not know as EFS'],
  ])
    t.match(await run(dev), { code: 1, stdout: '', stderr: '' }, what)
  t.match(await run('sda1'), { code: 2, stderr: /'sda1' is not a backing device \(MAJOR:MINOR/ })
})

t.test('read_ahead = 0 leaves EFS mounts at the kernel default', async (t) => {
  const { run } = host(t, [['0:53', 'nfs4', '127.0.0.1:/1/alice', NFS_OPTS('port=250,')]], 'read_ahead = 0\n')
  t.match(await run('0:53'), { code: 1, stdout: '' })
})

t.test('the backing device shows up before its mount: the mount is waited for', async (t) => {
  const { mountinfo, run } = host(t, [])
  const asked = run('0:60')
  await sleep(300)
  writeFileSync(mountinfo, `100 26 0:60 / /home/eve rw - nfs4 127.0.0.1:/1/eve ${NFS_OPTS('port=251,')}\n`)
  t.match(await asked, { code: 0, stdout: '15360\n' })
})
