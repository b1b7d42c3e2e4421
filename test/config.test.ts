import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig, parseConfig } from '../src/config/load.js'
import { ConfigError } from '../src/errors.js'
import { scratchDir } from './fixtures/scratch.js'

const MINIMAL = '[ldap]\nuri = ldap://127.0.0.1:389\nbase = ou=People,dc=example,dc=edu\n'

function fails(t: Test, text: string, pattern: RegExp, where: { section?: string; key?: string } = {}) {
  try {
    parseConfig('/etc/efs-home/efs-home.conf', text)
    t.fail(`expected an error matching ${pattern}`)
  } catch (err) {
    t.type(err, ConfigError)
    const e = err as ConfigError
    t.match(e.message, pattern)
    t.match(e.message, /\(\/etc\/efs-home\/efs-home\.conf\)$/, 'names the file')
    t.notMatch(e.message, /\n/, 'one line')
    if (where.section !== undefined) t.equal(e.section, where.section)
    if (where.key !== undefined) t.equal(e.key, where.key)
  }
}

t.test('defaults fill every optional key', async (t) => {
  const c = parseConfig('f', MINIMAL)
  t.equal(c.ldap.uri.length, 1)
  t.equal(c.ldap.filter, '(&(objectClass=posixAccount)(uid={key}))')
  t.equal(c.ldap.attribute, 'homeDirectory')
  t.equal(c.ldap.timeout, 3)
  t.equal(c.ldap.bind_dn, undefined)
  t.equal(c.home.import_root, '/import')
  t.equal(c.home.deadline, 10)
  t.equal(c.home.cache_max_age, 7 * 86400)
  t.equal(c.efs.tls, true)
  t.same(c.efs.port_range, { first: 250, last: 349 })
  t.same(c.nfs.options, [['vers', '4']])
  t.equal(c.nfs.export_prefix, '/export/{server}')
  t.equal(c.servers.size, 0)
  t.same(c.firewall, { chain: 'EFS-HOME', nfs_scope: 'all', addresses: [], backend: 'auto', ipv6: true, resolve_timeout: 3 })
  t.equal(c.proxy.start_attempts, 10)
})

t.test('the design document example parses, server names with dots intact', async (t) => {
  const c = parseConfig(
    'f',
    `[ldap]
uri = ldaps://ldap1.example.edu ldaps://ldap2.example.edu   ; tried in order
base = ou=People,dc=example,dc=edu
filter = (&(objectClass=posixAccount)(uid={key}))           ; {key} is the escaped key
attribute = homeDirectory
timeout = 3                  ; seconds per server, connect + search
bind_dn =                    ; empty: anonymous
bind_password_file =
ca_file =

[home]
import_root = /import
deadline = 10
cache_file = /var/cache/efs-home/homes.json

[efs]
region = us-east-1
dns_name_format = {az}.{fs_id}.efs.{region}.{dns_name_suffix}
dns_name_suffix = amazonaws.com
options = nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport
tls = true
ca_file = /etc/efs-home/efs-ca.pem
port_range = 250-349
fall_back_to_mount_target_ip = true
host_pattern = ^nw-syd-efs   ; server names the heuristic treats as EFS aliases

[nfs]
options = vers=4
export_prefix = /export/{server}

[server "nw-syd-efs1"]
type = efs
fs_id = fs-0123456789abcdef0
az =
mount_target_ip =
tls =

[server "kamen.cse.example.edu"]
type = nfs
export_prefix = /srv/homes
options = vers=4.2
`,
  )
  t.same(
    c.ldap.uri.map((u) => u.href),
    ['ldaps://ldap1.example.edu', 'ldaps://ldap2.example.edu'],
  )
  t.equal(c.ldap.timeout, 3)
  t.equal(c.ldap.bind_dn, undefined, 'empty means anonymous')
  t.equal(c.efs.host_pattern?.source, '^nw-syd-efs', 'the comment is not part of the value')
  t.same([...c.servers.keys()].sort(), ['kamen.cse.example.edu', 'nw-syd-efs1'])
  t.equal(c.servers.get('kamen.cse.example.edu')?.export_prefix, '/srv/homes')
  t.same(c.servers.get('kamen.cse.example.edu')?.options, [['vers', '4.2']])
  t.equal(c.servers.get('nw-syd-efs1')?.fs_id, 'fs-0123456789abcdef0')
  t.equal(c.servers.get('nw-syd-efs1')?.tls, undefined, 'empty tls inherits [efs] tls')
})

t.test('durations and booleans', async (t) => {
  const c = parseConfig('f', `${MINIMAL}timeout = 0.5\n[home]\ndeadline = 2m\ncache_max_age = 12h\ncache_update = no\n`)
  t.equal(c.ldap.timeout, 0.5)
  t.equal(c.home.deadline, 120)
  t.equal(c.home.cache_max_age, 43200)
  t.equal(c.home.cache_update, false)
})

t.test('bad config: clear one-line errors naming section and key', async (t) => {
  fails(t, '[ldap]\nbase = x\n', /\[ldap\] uri: is required/, { section: 'ldap', key: 'uri' })
  fails(t, '[ldap]\nuri = ldaps//x\nbase = x\n', /\[ldap\] uri: 'ldaps\/\/x' is not an LDAP URL/, { key: 'uri' })
  fails(t, '[ldap]\nuri = http://x\nbase = x\n', /not an LDAP URL/)
  fails(t, '[ldap]\nuri = ldap://x/dc=a?uid\nbase = x\n', /only a scheme, host and port/)
  fails(t, `${MINIMAL}timeout = soon\n`, /\[ldap\] timeout: 'soon' is not a positive duration/, { key: 'timeout' })
  fails(t, `${MINIMAL}timeout = 0\n`, /positive duration/)
  fails(t, `${MINIMAL}colour = blue\n`, /\[ldap\] colour: unknown key/, { section: 'ldap', key: 'colour' })
  fails(t, `${MINIMAL}[home]\ndeadline = -1\n`, /\[home\] deadline/)
  fails(t, `${MINIMAL}[efs]\ntls = maybe\n`, /\[efs\] tls: 'maybe' is not a boolean/)
  fails(t, `${MINIMAL}[efs]\nport_range = 9-2\n`, /port range/)
  // Ports any user can bind, or the NFS client's own source ports: a user could stand in for a proxy.
  fails(
    t,
    `${MINIMAL}[efs]\nport_range = 20049-21049\n`,
    /\[efs\] port_range: '20049-21049' reaches port 665 or above: ports from 1024 can be bound by any user/,
  )
  fails(t, `${MINIMAL}[efs]\nport_range = 600-700\n`, /reaches port 665 or above/)
  fails(t, `${MINIMAL}[efs]\nhost_pattern = ^(nw\n`, /not a valid regular expression/)
  fails(t, `${MINIMAL}[efs]\ndns_name_format = {az}.efs.{region}\n`, /must contain \{fs_id\}/)
  fails(t, `${MINIMAL}[efs]\ndns_name_format = {fs_id}.{zone}\n`, /unknown placeholder \{zone\}/)
  fails(t, `${MINIMAL}[efs]\noptions = vers=4 ,hard,rsize=1 2\n`, /\[efs\] options/)
  fails(t, `${MINIMAL}[efs]\noptions = port=2049\n`, /set by efs-home/)
  fails(t, `${MINIMAL}[nfs]\noptions = vers=3,nfsvers=4\n`, /both set the same thing/)
  fails(t, `${MINIMAL}[nfs]\nexport_prefix = export\n`, /\[nfs\] export_prefix/)
  fails(t, `${MINIMAL}[home]\nimport_root = /im port\n`, /\[home\] import_root/)
  fails(t, `${MINIMAL}[home]\nimport_root = /a/../b\n`, /\[home\] import_root/)
  fails(t, `${MINIMAL}filter = (uid=alice)\n`, /must contain \{key\}/)
  fails(t, `${MINIMAL}filter = (uid={key}*)\n`, /whole assertion value/)
  fails(t, `${MINIMAL}filter = (uid=x{key})\n`, /whole assertion value/)
  fails(t, `${MINIMAL}filter = (&(uid={key})\n`, /'\(&\(uid={key}\)' is not an LDAP filter: unbalanced/)
  fails(t, `${MINIMAL}list_filter = (&(uid=*)\n`, /\[ldap\] list_filter: '\(&\(uid=\*\)' is not an LDAP filter/)
  fails(t, `${MINIMAL}page_size = 0\n`, /\[ldap\] page_size: '0' is not a positive whole number/)
  fails(t, `${MINIMAL}[mystery]\na = b\n`, /unknown section \[mystery\]/)
  fails(t, `stray = 1\n${MINIMAL}`, /key 'stray' is outside any section/)
  fails(t, `${MINIMAL}[server kamen]\ntype = nfs\n`, /unknown section \[server kamen\]/)
  fails(t, `${MINIMAL}[server "bad name!"]\ntype = nfs\n`, /server name: 'bad name!' is not a host name/)
  fails(t, `${MINIMAL}[server "a.b"]\ntype = ftp\n`, /\[server "a.b"\] type: 'ftp' must be one of: efs, nfs/)
  fails(t, `${MINIMAL}[server "a.b"]\nfs_id = fs-xyz\n`, /not an EFS file system id/)
  fails(t, `${MINIMAL}[server "a.b"]\ncolour = red\n`, /\[server "a.b"\] colour: unknown key/)
  fails(t, `${MINIMAL}[server "A.b"]\n[server "a.B"]\n`, /server given twice/)
  fails(t, `${MINIMAL}[efs] ; trailing\n`, /line 4: malformed section header/)
  fails(t, `${MINIMAL}uri[] = ldap://y\n`, /must be a single value/)
  fails(t, `${MINIMAL}[firewall]\nchain = OUTPUT\n`, /\[firewall\] chain: 'OUTPUT' is not a name for a chain of our own/)
  fails(t, `${MINIMAL}[firewall]\nchain = ${'X'.repeat(29)}\n`, /\[firewall\] chain/)
  fails(
    t,
    `${MINIMAL}[firewall]\naddresses = 10.0.0.1 efs.example.edu\n`,
    /\[firewall\] addresses: 'efs\.example\.edu' is not an IP address or network/,
  )
  fails(t, `${MINIMAL}[firewall]\naddresses = 10.0.0.0/33\n`, /not an IP address or network/)
  fails(t, `${MINIMAL}[firewall]\nbackend = iptables\n`, /must be one of: auto, nft, legacy/)
})

t.test('loadConfig: a missing or unreadable file is one clear line', async (t) => {
  const dir = scratchDir(t)
  t.throws(() => loadConfig(join(dir, 'nope.conf')), {
    code: 'CONFIG',
    message: /cannot read the config file: no such file; set EFS_HOME_CONFIG/,
  })
  const file = join(dir, 'ok.conf')
  writeFileSync(file, MINIMAL)
  t.equal(loadConfig(file).file, file)
})

t.test('trees never share a cache file or a master map file', async (t) => {
  const { allTrees, masterMapName } = await import('../src/lookup/tree.js')
  const c = parseConfig('f', `${MINIMAL}[tree "/srv/www"]\nsub_path = www\n[tree "/srv-www"]\nsub_path = www\n`)
  const [, a, b] = allTrees(c)
  t.equal(a?.cacheFile, '/var/cache/efs-home/tree-srv-www.json', 'the usual name where nothing needs escaping')
  t.equal(b?.cacheFile, '/var/cache/efs-home/tree-srv%2dwww.json', "a '-' in the mount point is escaped")
  t.not(masterMapName(a!), masterMapName(b!))
  fails(
    t,
    `${MINIMAL}[home]\ncache_file = /var/cache/efs-home/h.json\n[tree "/web"]\nsub_path = www\ncache_file = /var/cache/efs-home/h.json\n`,
    /cache_file \/var\/cache\/efs-home\/h\.json is also the cache of \/home: each tree needs its own/,
    { section: 'tree "/web"', key: 'cache_file' },
  )
  fails(
    t,
    `${MINIMAL}[tree "/web"]\nsub_path = www\n[tree "/www"]\nsub_path = www\ncache_file = /var/cache/efs-home/tree-web.json\n`,
    /is also the cache of \/web/,
  )
})
