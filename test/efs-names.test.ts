// efs-utils' own matching cases (match_device, FS_ID_RE, EFS_FQDN_RE, and the
// examples of the custom-DNS-name investigation in shared/seeds), with what
// efs-home answers for each. Names that need DNS (CNAMEs, A records) are in
// efs-resolution.test.ts, against a real resolver.

import t from 'tap'
import { parseConfig } from '../src/config/load.js'
import { checkEfsName, efsDnsName } from '../src/efs/host.js'
import { classifyServer } from '../src/servers/classify.js'

const config = parseConfig(
  'test.conf',
  `[ldap]
uri = ldap://127.0.0.1
base = dc=x
[server "10.0.0.206"]
type = efs
[server "10.0.0.207"]
type = efs
fs_id = fs-0e211df86678573e6
mount_target_ip = 10.0.0.207
[server "us-east-1b.fs-0e211df86678573e6.efs.us-east-1.amazonaws.com"]
az = us-east-1a
[server "fs-legacy1"]
type = nfs
`,
)

// [name, efs-utils, efs-home: kind, file system id, DNS name, or the refusal]
const cases: [string, string, { kind: 'efs' | 'nfs' | 'malformed'; fsId?: string; dns?: string; refused?: RegExp }][] = [
  [
    'fs-0e211df86678573e6',
    'FS_ID_RE: mounted by its DNS name',
    { kind: 'efs', fsId: 'fs-0e211df86678573e6', dns: 'fs-0e211df86678573e6.efs.us-east-1.amazonaws.com' },
  ],
  [
    'fs-0e211df86678573e6.efs.us-east-1.amazonaws.com',
    'EFS_FQDN_RE: accepted',
    { kind: 'efs', fsId: 'fs-0e211df86678573e6', dns: 'fs-0e211df86678573e6.efs.us-east-1.amazonaws.com' },
  ],
  [
    'us-east-1a.fs-0e211df86678573e6.efs.us-east-1.amazonaws.com',
    'EFS_FQDN_RE with the AZ part',
    { kind: 'efs', fsId: 'fs-0e211df86678573e6', dns: 'us-east-1a.fs-0e211df86678573e6.efs.us-east-1.amazonaws.com' },
  ],
  [
    'fs-0e211df86678573e6.efs.cn-north-1.amazonaws.com.cn',
    'a China region, suffix from the name',
    { kind: 'efs', fsId: 'fs-0e211df86678573e6', refused: /does not end in the configured DNS suffix amazonaws\.com/ },
  ],
  [
    'fs-0e211df86678573e6.efs.us-east-1.example.com',
    'a foreign suffix: refused',
    { kind: 'efs', refused: /does not end in the configured DNS suffix/ },
  ],
  [
    'us-east-1b.fs-0e211df86678573e6.efs.us-east-1.amazonaws.com',
    'an AZ that contradicts the configured one',
    { kind: 'efs', refused: /names zone us-east-1b, but its \[server\] section says az = us-east-1a/ },
  ],
  ['10.0.0.206', '"The specified CNAME "10.0.0.206" did not resolve to a valid DNS name": refused', { kind: 'efs', fsId: undefined }],
  ['10.0.0.207', 'mounttargetip=10.0.0.207 with the file system id: accepted', { kind: 'efs', fsId: 'fs-0e211df86678573e6' }],
  ['fs-0123xyz', 'not FS_ID_RE (not hex): refused, a typo, not a host', { kind: 'malformed' }],
  ['fs-.efs.x', 'not EFS_FQDN_RE: refused', { kind: 'malformed' }],
  ['FS-0E211DF86678573E6', 'upper case: not FS_ID_RE, refused', { kind: 'malformed' }],
  ['fs-0e21g.efs.us-east-1.amazonaws.com', 'an EFS DNS name with a bad id: refused', { kind: 'malformed' }],
  ['us-east-1a.fs-.efs.us-east-1.amazonaws.com', 'an AZ name with no id: refused', { kind: 'malformed' }],
  ['fs-backup.cse.example.edu', 'a host whose first label starts with fs-: classic NFS', { kind: 'nfs' }],
  ['nfs-fs-1', 'fs- inside a name: classic NFS', { kind: 'nfs' }],
  ['fs-legacy1', 'not an id, but a [server] section declares it', { kind: 'nfs' }],
]

for (const [name, efsUtils, want] of cases) {
  t.test(`${name} (efs-utils: ${efsUtils})`, async (t) => {
    if (want.kind === 'malformed') {
      t.throws(() => classifyServer(config, name), {
        code: 'LOCATION',
        message: `server ${JSON.stringify(name)} is written as an EFS file system but is not a valid id`,
      })
      return
    }
    const server = classifyServer(config, name)
    t.equal(server.kind, want.kind)
    if (server.kind !== 'efs') return
    if ('fsId' in want) t.equal(server.fsId, want.fsId, 'file system id')
    if (want.refused !== undefined) {
      t.throws(() => checkEfsName(config, server), { code: 'ENTRY', message: want.refused })
      return
    }
    t.doesNotThrow(() => checkEfsName(config, server))
    if (want.dns !== undefined) t.equal(efsDnsName(config, server), want.dns)
  })
}
