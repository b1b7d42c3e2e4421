import t from 'tap'
import { hostname } from 'node:os'
import { parseConfig } from '../src/config/load.js'
import { buildEntry, formatEntry } from '../src/mount/entry.js'
import { formatMountOptions, parseMountOptions, withDefaults } from '../src/mount/options.js'
import { proxyTarget } from '../src/proxy/target.js'
import { classifyServer } from '../src/servers/classify.js'
import { formatEfsDnsName, parseEfsDnsName } from '../src/servers/efs-names.js'

const EFS_OPTS = 'nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,nosuid,nodev'

function config(extra = '') {
  return parseConfig(
    'test.conf',
    `[ldap]
uri = ldap://127.0.0.1
base = dc=x
[efs]
tls = false
host_pattern = ^nw-syd-efs
${extra}`,
  )
}

function entryFor(c: ReturnType<typeof config>, location: [string, string, string?]): string {
  const [server, exp, rest] = location
  return formatEntry(buildEntry(c, classifyServer(c, server), { export: exp, ...(rest === undefined ? {} : { rest }) }))
}

t.test('classification', async (t) => {
  const c = config(`[server "kamen.cse.example.edu"]\ntype = nfs\n[server "homes"]\nfs_id = fs-0abc\n[server "nw-syd-efs9"]\ntype = nfs\n`)
  const cases: [string, string, string][] = [
    ['kamen', 'nfs', 'default'],
    ['kamen.cse.example.edu', 'nfs', 'server section'],
    ['KAMEN.cse.example.edu', 'nfs', 'server section'],
    ['nw-syd-efs1', 'efs', 'host_pattern'],
    ['nw-syd-efs9', 'nfs', 'server section'],
    ['homes', 'efs', 'server section'],
    ['fs-0123abcd', 'efs', 'file system id'],
    ['fs-0123456789abcdef0', 'efs', 'file system id'],
    ['fs-0123abcd.efs.ap-southeast-2.amazonaws.com', 'efs', 'EFS DNS name'],
    ['ap-southeast-2a.fs-0123abcd.efs.ap-southeast-2.amazonaws.com', 'efs', 'EFS DNS name'],
    ['efs.example.edu', 'nfs', 'default'],
  ]
  for (const [name, kind, reason] of cases) t.match(classifyServer(c, name), { kind, reason }, name)
  // Written as a file system id but not one: a typo in the directory, never a classic NFS host.
  for (const name of ['fs-0123xyz', 'fs-.efs.x'])
    t.throws(() => classifyServer(c, name), { code: 'LOCATION', message: /is written as an EFS file system but is not a valid id/ }, name)
  t.match(classifyServer(c, 'ap-southeast-2a.fs-0123abcd.efs.ap-southeast-2.amazonaws.com.cn'), {
    fsId: 'fs-0123abcd',
    region: 'ap-southeast-2',
    az: 'ap-southeast-2a',
    dnsNameSuffix: 'amazonaws.com.cn',
  })
  t.match(classifyServer(c, 'homes'), { fsId: 'fs-0abc', region: 'us-east-1' })
})

t.test('home mounts are nosuid,nodev unless the site says suid or dev', async (t) => {
  t.equal(entryFor(config(''), ['kamen', '2', 'bob']), '-fstype=nfs,vers=4,nosuid,nodev kamen:/export/kamen/2/bob')
  const c = config('[nfs]\noptions = vers=4,suid\n[efs]\noptions = dev\n')
  t.equal(entryFor(c, ['kamen', '2', 'bob']), '-fstype=nfs,vers=4,suid,nodev kamen:/export/kamen/2/bob', 'suid: the site decided')
  t.match(
    entryFor(c, ['nw-syd-efs1', '1', 'a']),
    /^-fstype=nfs4,nfsvers=4\.1,[^ ]*,noresvport,dev,nosuid nw-syd-efs1:\/1\/a$/,
    'dev: the site decided',
  )
})

t.test('a server that is this host, in any spelling, is refused unless a [server] section declares it', async (t) => {
  const c = config(`[server "localhost"]\ntype = nfs\n`)
  const own = hostname().toLowerCase()
  const spellings = [
    '127.0.0.1',
    '127.1',
    '127.0.1',
    '0',
    '0.0.0.0',
    '2130706433',
    '0x7f000001',
    '0x7f.1',
    '017700000001',
    '127.255.0.9',
    'LOCALHOST.',
    'localhost.localdomain',
    'lab.localhost',
    'ip6-localhost',
    own,
    own.split('.')[0]!,
  ]
  const bare = config('')
  for (const name of spellings)
    t.throws(
      () => classifyServer(bare, name),
      { code: 'LOCATION', message: new RegExp(`^server "${name.replace(/\./g, '\\.')}" is this host \\(`) },
      name,
    )
  t.match(classifyServer(c, 'localhost'), { kind: 'nfs', reason: 'server section' }, 'declared: allowed')
  for (const name of ['10.0.0.206', '128.0.0.1', 'kamen', 'localhostname', 'face']) t.doesNotThrow(() => classifyServer(bare, name), name)
})

t.test('entries: the design table', async (t) => {
  const c = config(`[server "kamen.cse.example.edu"]\ntype = nfs\nexport_prefix = /srv/homes\noptions = vers=4.2\n`)
  t.equal(entryFor(c, ['kamen', '1', 'plinich']), '-fstype=nfs,vers=4,nosuid,nodev kamen:/export/kamen/1/plinich')
  t.equal(entryFor(c, ['nw-syd-efs1', '1', 'plinich99']), `-fstype=nfs4,${EFS_OPTS} nw-syd-efs1:/1/plinich99`)
  t.equal(entryFor(c, ['fs-0123abcd', '1', 'alice']), `-fstype=nfs4,${EFS_OPTS} fs-0123abcd.efs.us-east-1.amazonaws.com:/1/alice`)
  t.equal(entryFor(c, ['kamen.cse.example.edu', '2', 'bob']), '-fstype=nfs,vers=4.2,nosuid,nodev kamen.cse.example.edu:/srv/homes/2/bob')
  t.equal(
    entryFor(c, ['kamen', '1']),
    '-fstype=nfs,vers=4,nosuid,nodev kamen:/export/kamen/1',
    'an export without a user, for the static map',
  )
  const dns = 'us-east-1b.fs-0123abcd.efs.us-east-1.amazonaws.com'
  t.equal(entryFor(c, [dns, 'h', 'u/v']), `-fstype=nfs4,${EFS_OPTS} ${dns}:/h/u/v`)
})

t.test('entries: site options, per-server overrides, zones, mount target addresses', async (t) => {
  const c = config(`options = timeo=150,soft,vers=4.1,nconnect=4
region = ap-southeast-2
[nfs]
options = vers=3,proto=tcp
export_prefix = /
[server "fs-0aa"]
az = ap-southeast-2c
[server "fs-0bb"]
mount_target_ip = 10.1.2.3
options = nfsvers=4.1
[server "fs-0cc"]
mount_target_ip = fd00::1
region = eu-west-1
`)
  t.equal(
    entryFor(c, ['nw-syd-efs1', '1', 'a']),
    '-fstype=nfs4,vers=4.1,rsize=1048576,wsize=1048576,soft,timeo=150,retrans=2,noresvport,nconnect=4,nosuid,nodev nw-syd-efs1:/1/a',
  )
  t.equal(
    entryFor(c, ['fs-0aa', '1', 'a']),
    '-fstype=nfs4,vers=4.1,rsize=1048576,wsize=1048576,soft,timeo=150,retrans=2,noresvport,nconnect=4,nosuid,nodev ap-southeast-2c.fs-0aa.efs.ap-southeast-2.amazonaws.com:/1/a',
  )
  t.equal(entryFor(c, ['fs-0bb', '1', 'a']), `-fstype=nfs4,${EFS_OPTS} 10.1.2.3:/1/a`)
  t.equal(
    entryFor(c, ['fs-0cc', '1', 'a']),
    '-fstype=nfs4,vers=4.1,rsize=1048576,wsize=1048576,soft,timeo=150,retrans=2,noresvport,nconnect=4,nosuid,nodev [fd00::1]:/1/a',
  )
  t.equal(entryFor(c, ['kamen', '1', 'a']), '-fstype=nfs,vers=3,proto=tcp,nosuid,nodev kamen:/1/a')
})

t.test('TLS: the proxy port and nobind, never a silent plaintext entry', async (t) => {
  const c = config('[server "fs-0dd"]\ntls = true\n[server "nw-syd-efs1"]\ntls = true\n')
  const tls = (name: string) => classifyServer(c, name)
  t.equal(
    formatEntry(buildEntry(c, tls('fs-0dd'), { export: '1', rest: 'a' }, { proxyPort: 20049 })),
    `-fstype=nfs4,${EFS_OPTS},port=20049,nobind 127.0.0.1:/1/a`,
  )
  t.throws(() => buildEntry(c, tls('fs-0dd'), { export: '1', rest: 'a' }), { code: 'ENTRY', message: /needs TLS and no proxy port/ })
  const alias = tls('nw-syd-efs1')
  t.throws(() => (alias.kind === 'efs' ? proxyTarget(c, alias) : undefined), {
    code: 'ENTRY',
    message: /needs TLS, which needs its file system id .*set fs_id in \[server "nw-syd-efs1"\]/,
  })
  t.equal(
    entryFor(config('tls = true\n[server "nw-syd-efs1"]\ntls = false'), ['nw-syd-efs1', '1', 'a']),
    `-fstype=nfs4,${EFS_OPTS} nw-syd-efs1:/1/a`,
    'tls = false per server',
  )
})

t.test('the proxy target: the certificate name, without the zone', async (t) => {
  const c = config(
    'region = ap-southeast-2\n[server "fs-0ee"]\naz = ap-southeast-2b\n[server "homes"]\nfs_id = fs-0ff\nmount_target_ip = 10.0.0.9\n',
  )
  const target = (name: string) => {
    const s = classifyServer(c, name)
    return s.kind === 'efs' ? proxyTarget(c, s) : undefined
  }
  const plain = { region: 'ap-southeast-2', iam: false, accessPoint: undefined }
  t.same(target('fs-0ee'), { fsId: 'fs-0ee', port: 2049, serverName: 'fs-0ee.efs.ap-southeast-2.amazonaws.com', ...plain })
  t.same(target('homes'), { fsId: 'fs-0ff', port: 2049, serverName: 'fs-0ff.efs.ap-southeast-2.amazonaws.com', ...plain })
})

t.test('mount options: defaults only where the site is silent', async (t) => {
  const efsUtils = 'nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport'
  const defaults = parseMountOptions(efsUtils)
  t.equal(formatMountOptions(withDefaults([], defaults)), efsUtils)
  t.equal(formatMountOptions(withDefaults(parseMountOptions('vers=4.1'), defaults)), efsUtils.replace('nfsvers', 'vers'))
  t.equal(
    formatMountOptions(withDefaults(parseMountOptions('resvport,rsize=65536'), defaults)),
    'nfsvers=4.1,rsize=65536,wsize=1048576,hard,timeo=600,retrans=2,resvport',
  )
  t.same(parseMountOptions(''), [])
  for (const bad of ['a b', 'vers=4 4', 'x=a,b=', ',', 'Vers=4', 'a=b"c', 'fstype=nfs', 'nobind', 'soft,hard']) {
    t.throws(() => parseMountOptions(bad), { name: 'MountOptionError' }, bad)
  }
})

t.test('EFS DNS names', async (t) => {
  t.same(parseEfsDnsName('fs-01.efs.us-east-1.amazonaws.com'), {
    az: undefined,
    fsId: 'fs-01',
    region: 'us-east-1',
    suffix: 'amazonaws.com',
  })
  t.equal(parseEfsDnsName('fs-01.efs.us-east-1'), undefined)
  t.equal(parseEfsDnsName('fs-zz.efs.us-east-1.amazonaws.com'), undefined)
  const f = '{az}.{fs_id}.efs.{region}.{dns_name_suffix}'
  t.equal(
    formatEfsDnsName(f, { az: undefined, fsId: 'fs-01', region: 'cn-north-1', suffix: 'amazonaws.com.cn' }),
    'fs-01.efs.cn-north-1.amazonaws.com.cn',
  )
  t.equal(
    formatEfsDnsName(f, { az: 'us-east-1a', fsId: 'fs-01', region: 'us-east-1', suffix: 'amazonaws.com' }),
    'us-east-1a.fs-01.efs.us-east-1.amazonaws.com',
  )
})
