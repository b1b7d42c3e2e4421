// Is <server> an EFS file system or a classic NFS server? A [server]
// section decides; else the name: a file system id, an EFS DNS name, or a
// name matching [efs] host_pattern is EFS; anything else is classic NFS.

import type { Config } from '../config/load.js'
import type { ServerSettings } from '../config/options.js'
import { EfsHomeError } from '../errors.js'
import { FS_ID_RE, parseEfsDnsName } from './efs-names.js'
import { thisHost } from './this-host.js'

export type Reason = 'server section' | 'file system id' | 'EFS DNS name' | 'host_pattern' | 'default'

export interface NfsServer {
  readonly kind: 'nfs'
  readonly name: string
  readonly reason: Reason
  readonly section: ServerSettings | undefined
}

export interface EfsServer {
  readonly kind: 'efs'
  readonly name: string
  readonly reason: Reason
  readonly section: ServerSettings | undefined
  /** Known from the name itself or from the server section. */
  readonly fsId: string | undefined
  readonly region: string
  readonly dnsNameSuffix: string
  readonly az: string | undefined
}

export type Server = NfsServer | EfsServer

// A name written as an EFS file system (a bare `fs-…`, or `[az.]fs-….efs.…`)
// that efs-utils would not accept as one is a typo in the directory, not a host.
const EFS_LIKE_RE = /^(?:[^.]+\.)?fs-[^.]*(?:\.efs\.|$)/i

export function classifyServer(config: Config, name: string): Server {
  const section = config.servers.get(name.toLowerCase())
  const local = section === undefined ? thisHost(name) : undefined
  if (local !== undefined) {
    throw new EfsHomeError(
      'LOCATION',
      `server ${JSON.stringify(name)} is this host (${local}): autofs would bind-mount a local path, or mount from a port any user can listen on; a [server "${name}"] section declares it, if that is meant`,
    )
  }
  const dnsName = parseEfsDnsName(name)
  const efs = (reason: Reason): EfsServer => ({
    kind: 'efs',
    name,
    reason,
    section,
    fsId: section?.fs_id ?? dnsName?.fsId ?? (FS_ID_RE.test(name) ? name : undefined),
    region: section?.region ?? dnsName?.region ?? config.efs.region,
    dnsNameSuffix: section?.dns_name_suffix ?? dnsName?.suffix ?? config.efs.dns_name_suffix,
    az: section?.az ?? dnsName?.az,
  })
  if (section?.type === 'nfs') return { kind: 'nfs', name, reason: 'server section', section }
  if (section?.type === 'efs' || section?.fs_id !== undefined) return efs('server section')
  if (FS_ID_RE.test(name)) return efs('file system id')
  if (dnsName !== undefined) return efs('EFS DNS name')
  if (section === undefined && EFS_LIKE_RE.test(name)) {
    throw new EfsHomeError(
      'LOCATION',
      `server ${JSON.stringify(name)} is written as an EFS file system but is not a valid id (fs- and lower-case hex digits, as efs-utils requires): a typo in the directory? A [server "${name}"] section declares it, if it is a real host`,
    )
  }
  if (config.efs.host_pattern?.test(name) === true) return efs('host_pattern')
  return { kind: 'nfs', name, reason: section === undefined ? 'default' : 'server section', section }
}

/**
 * Why efs-home must not mount `server`: with [firewall] nfs_scope = efs the
 * rules name only the EFS servers the config declares (and those of
 * auto_static.cfg, which the map does not read), so one that appears only in
 * LDAP would be mounted with 2049 open to every user.
 */
export function unfirewalled(config: Config, server: Server): string | undefined {
  if (config.firewall.nfs_scope !== 'efs' || server.kind !== 'efs' || server.section !== undefined) return undefined
  return `EFS server ${JSON.stringify(server.name)} has no [server] section, and with [firewall] nfs_scope = efs the firewall protects only declared file systems: declare it (then efs-home firewall apply), or set nfs_scope = all`
}

/** Every EFS server this host may mount: the [server] sections and the servers of `exports` (auto_static.cfg). */
export function efsServersOf(config: Config, exports: readonly { readonly server: string }[]): EfsServer[] {
  return [...new Set([...config.servers.keys(), ...exports.map((e) => e.server)])].flatMap((name) => {
    const server = classifyServer(config, name)
    return server.kind === 'efs' ? [server] : []
  })
}
