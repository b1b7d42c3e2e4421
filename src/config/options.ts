// Every config option, declared once: its type (the parser), default and
// meaning. Loading, `efs-home config check` and the README's option table
// (`efs-home config options`) all derive from this table.

import { buildFilter, parseFilter } from '../directory/filter.js'
import { type Cidr, parseCidr } from '../firewall/addresses.js'
import { parseMountOptions, type MountOption } from '../mount/options.js'
import { MAP_OPTIONS } from './map-options.js'
import { option, optional, required, type Values } from './option.js'
import * as v from './values.js'
import { isPathComponent } from '../location/location.js'

/** A parser from a function that throws its own error type. */
function checked<T>(parse: (raw: string) => T): v.Parser<T> {
  return (raw) => {
    try {
      return parse(raw)
    } catch (err) {
      throw new v.ValueError((err as Error).message)
    }
  }
}

// Each parses the text only to refuse a template that would fail every lookup; the text is what is kept.
const filterTemplate = checked((raw) => {
  buildFilter(raw, 'probe')
  return raw
})
const listFilter = checked((raw) => {
  parseFilter(raw)
  return raw
})
const mountOptions = checked<MountOption[]>(parseMountOptions)

const cidrList: v.Parser<Cidr[]> = (raw) =>
  raw
    .split(/[\s,]+/)
    .filter((word) => word !== '')
    .map((word) => {
      const cidr = parseCidr(word)
      if (cidr === undefined) throw new v.ValueError(`'${word}' is not an IP address or network (like 10.0.0.5 or 10.0.0.0/24)`)
      return cidr
    })

const chainName: v.Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9_-]{1,28}$/.test(raw) || ['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING'].includes(raw.toUpperCase())) {
    throw new v.ValueError(`'${raw}' is not a name for a chain of our own (letters, digits, _ -, at most 28)`)
  }
  return raw
}

const dnsNameFormat = v.template(['az', 'fs_id', 'region', 'dns_name_suffix'], ['fs_id'])
const exportPrefix: v.Parser<string> = (raw) => {
  v.template(['server'], [])(raw)
  v.safePath(raw.split('{server}').join('server'))
  return raw.replace(/(.)\/+$/, '$1')
}

export const OPTIONS = {
  ldap: {
    uri: required(v.ldapUriList, 'LDAP servers, tried in order until one answers (ldap:// or ldaps://, space-separated).'),
    base: required(v.text, 'Search base for users.'),
    filter: option(
      filterTemplate,
      '(&(objectClass=posixAccount)(uid={key}))',
      'Search filter; {key} is replaced by the user name as a whole assertion value (never spliced into the text).',
    ),
    attribute: option(v.attributeName, 'homeDirectory', 'Attribute that holds the home location.'),
    timeout: option(v.seconds, '3', 'Seconds one server may take, connect, bind and search together, before the next is tried.'),
    retry_failed_after: option(
      v.seconds,
      '60',
      'A server that failed is tried after the others for this long (lookups share this in ldap-health.json beside cache_file), so logins do not each wait out a dead server.',
    ),
    starttls: option(v.bool, 'false', 'Upgrade ldap:// connections with StartTLS (the certificate is verified).'),
    ca_file: optional(v.absolutePath, 'PEM file of CA certificates for ldaps:// and StartTLS; empty: the system store.'),
    bind_dn: optional(v.text, 'DN for a simple bind; empty: anonymous.'),
    bind_password_file: optional(v.absolutePath, 'File holding the bind password (first line); keep it mode 0600.'),
    list_filter: option(listFilter, '(objectClass=posixAccount)', 'Filter for efs-map-gen --from-ldap, which enumerates every user.'),
    key_attribute: option(v.attributeName, 'uid', 'Attribute holding the user name (the automount key), for efs-map-gen --from-ldap.'),
    page_size: option(v.positiveInteger, '500', 'Entries per page when efs-map-gen --from-ldap enumerates users.'),
  },
  home: {
    import_root: option(v.safePath, '/import', 'Locations look like <import_root>/<server>/<export>/<user>.'),
    cache_file: option(
      v.absolutePath,
      '/var/cache/efs-home/homes.json',
      'Last-known-good user to location cache, used only when no LDAP server answers.',
    ),
    cache_max_age: option(v.seconds, '7d', 'Cache entries older than this are not used.'),
    cache_update: option(v.bool, 'true', 'A successful lookup records its answer in the cache (best effort).'),
    ...MAP_OPTIONS,
  },
  efs: {
    region: option(v.region, 'us-east-1', 'AWS region of the file systems, for names built from a file system id.'),
    dns_name_format: option(
      dnsNameFormat,
      '{az}.{fs_id}.efs.{region}.{dns_name_suffix}',
      'EFS DNS name; the {az}. part is dropped when the zone is unknown.',
    ),
    dns_name_suffix: option(v.dnsSuffix, 'amazonaws.com', 'DNS suffix of the region (amazonaws.com.cn in China).'),
    options: option(
      mountOptions,
      '',
      'Mount options; efs-utils defaults (nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport) fill in every question these leave open.',
    ),
    tls: option(
      v.bool,
      'true',
      'Encrypt EFS traffic through the bundled TLS proxy (needs the file system id); an EFS home that needs TLS and cannot have it gets no entry, never a plaintext one.',
    ),
    ca_file: option(v.absolutePath, '/etc/efs-home/efs-ca.pem', 'CA certificates that EFS server certificates must chain to.'),
    port_range: option(
      v.rootOnlyPortRange,
      '250-349',
      "Local ports for the TLS proxies, one per file system: below 665, so only root can bind them (while net.ipv4.ip_unprivileged_port_start stays above them) and the NFS client's own source ports (665-1023) are left alone.",
    ),
    crossaccount: option(
      v.bool,
      'false',
      "Mount by <az_id>.<fs_id>.efs.<region>.<suffix>, the instance's own zone id (from instance metadata), as efs-utils' crossaccount does for file systems of another account.",
    ),
    fall_back_to_mount_target_ip: option(
      v.bool,
      'true',
      'When the EFS DNS name does not resolve, ask the EFS API for a mount target address.',
    ),
    host_pattern: optional(v.regex, 'Regular expression: server names matching it are EFS aliases.'),
    read_ahead: option(
      v.wholeNumber,
      '15',
      "Read-ahead of each EFS mount, in multiples of its rsize (efs-utils' 15: 15 MiB with rsize=1048576, against the kernel's 128 KiB), set by efs-home's udev rule as the mount appears; 0 leaves the kernel's. Classic NFS servers keep theirs.",
    ),
    iam: option(
      v.bool,
      'false',
      "Prove this host's IAM identity to EFS on every TLS connection (efs-utils' iam option), for file system policies that require it; needs tls.",
    ),
    aws_profile: optional(
      v.awsProfile,
      "AWS profile for IAM credentials (from root's ~/.aws/config and credentials, or AWS_CONFIG_FILE); empty: the SDK's default chain (environment, profile default, SSO, web identity, container, instance role).",
    ),
  },
  nfs: {
    options: option(mountOptions, 'vers=4', 'Mount options for classic NFS servers.'),
    export_prefix: option(exportPrefix, '/export/{server}', 'Server-side path above <export>; {server} is the server name.'),
  },
  proxy: {
    state_dir: option(v.absolutePath, '/run/efs-home', 'Where each running TLS proxy keeps its state (PID, port, counters) and log.'),
    port_file: option(
      v.absolutePath,
      '/var/lib/efs-home/proxy-ports.json',
      'Persistent file system to local port assignments, so ports survive reboots.',
    ),
    connect_timeout: option(v.seconds, '5', 'Seconds a proxy may take to open TLS to the mount target for one connection.'),
    log_connections: option(v.bool, 'true', 'Log one line per connection opened and closed, with byte counts.'),
    certificate_renewal: option(
      v.seconds,
      '1h',
      'How often a proxy with a client certificate (IAM or an access point) signs a new one; sooner when the credentials expire first. The certificate is valid for 3 hours.',
    ),
    start_attempts: option(
      v.positiveInteger,
      '10',
      'Failed starts in a row after which the supervisor gives up on a proxy that was never up (about 30 s with the default); the next lookup tries again. A proxy that ran before is restarted for as long as it takes.',
    ),
  },
  firewall: {
    chain: option(chainName, 'EFS-HOME', 'Chain of our own, jumped to from OUTPUT, that holds every rule.'),
    nfs_scope: option(
      v.oneOf('all', 'efs'),
      'all',
      "Where non-root TCP 2049 is refused: all (every destination, so no mount target in any zone can be missed) or efs (the EFS addresses only: each file system's mount targets in every zone from the EFS API, plus [firewall] addresses).",
    ),
    addresses: option(
      cidrList,
      '',
      'EFS addresses or networks to protect besides those resolved from the config and auto_static.cfg (space-separated).',
    ),
    backend: option(v.oneOf('auto', 'nft', 'legacy'), 'auto', 'iptables flavour: auto (the system default iptables), nft or legacy.'),
    ipv6: option(v.bool, 'true', 'Also load the rules for IPv6 (ip6tables).'),
    resolve_timeout: option(v.seconds, '3', 'Seconds to resolve each EFS name when the rules are built.'),
  },
} as const

/** Keys of a `[server "NAME"]` section: its own, and per-server overrides of [efs] and [nfs]. */
export const SERVER_OPTIONS = {
  type: optional(v.oneOf('efs', 'nfs'), 'efs or nfs; overrides the name heuristic.'),
  fs_id: optional(v.fileSystemId, 'EFS file system id (fs-...).'),
  az: optional(v.availabilityZone, 'Availability zone of the mount target to use.'),
  mount_target_ip: optional(v.hostname, 'Mount target address to use instead of the DNS name (like efs-utils mounttargetip).'),
  tls: optional(v.bool, 'Overrides [efs] tls.'),
  iam: optional(v.bool, 'Overrides [efs] iam.'),
  access_point: optional(
    v.accessPointId,
    'EFS access point to mount through (fsap-...; efs-utils accesspoint), presented in the client certificate; needs tls. Every server of one file system names the same one: a host has one proxy per file system.',
  ),
  crossaccount: optional(v.bool, 'Overrides [efs] crossaccount.'),
  region: optional(v.region, 'Overrides [efs] region.'),
  dns_name_suffix: optional(v.dnsSuffix, 'Overrides [efs] dns_name_suffix.'),
  options: optional(mountOptions, 'Overrides [efs] options or [nfs] options.'),
  export_prefix: optional(exportPrefix, 'Overrides [nfs] export_prefix.'),
} as const

/** A path below a home: relative, safe characters, no dot components. */
const subPath: v.Parser<string> = (raw) => {
  const trimmed = raw.replace(/\/+$/, '')
  if (raw.startsWith('/') || !trimmed.split('/').every(isPathComponent))
    throw new v.ValueError(`'${raw}' must be a path below the home (like public_html): letters, digits and . _ @ + -, no dot components`)
  return trimmed
}

/** `[tree "/web"]`: a per-user tree besides /home, served by the same program map. */
export const TREE_OPTIONS = {
  attribute: optional(
    v.attributeName,
    "LDAP attribute holding the user's location in this tree, in the form of a home (<import_root>/<server>/<export>/<path>); a user without it has no entry here.",
  ),
  sub_path: optional(subPath, "Instead of an attribute: the tree's location is the home's plus this path (like public_html)."),
  options: optional(mountOptions, "Mount options for this tree, over the server's (like ro)."),
  timeout: option(v.positiveInteger, '300', "automount's --timeout for this tree's master map entry, in seconds."),
  cache_file: optional(v.absolutePath, 'Last-known-good cache of this tree; default: tree-<name>.json beside [home] cache_file.'),
} as const

export type SectionName = keyof typeof OPTIONS
export type LdapSettings = Values<typeof OPTIONS.ldap>
export type HomeSettings = Values<typeof OPTIONS.home>
export type EfsSettings = Values<typeof OPTIONS.efs>
export type NfsSettings = Values<typeof OPTIONS.nfs>
export type FirewallSettings = Values<typeof OPTIONS.firewall>
export type ProxySettings = Values<typeof OPTIONS.proxy>
export type ServerSettings = Values<typeof SERVER_OPTIONS>
export type TreeSettings = Values<typeof TREE_OPTIONS>
