// The one place where a server and a path become an autofs map entry. The
// program map (per user) and efs-map-gen (per export) both call it, so a
// server gets the same options whichever way it is mounted.

import type { Config } from '../config/load.js'
import { EfsHomeError } from '../errors.js'
import type { EfsServer, NfsServer, Server } from '../servers/classify.js'
import { formatEfsDnsName } from '../servers/efs-names.js'
import { usesTls } from '../proxy/target.js'
import { formatMountOptions, type MountOption, parseMountOptions, withDefaults, withSafety } from './options.js'

// efs-utils' defaults; each applies only where the site's options are silent.
const EFS_DEFAULT_OPTIONS: readonly MountOption[] = parseMountOptions(
  'nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport',
)

export interface MountEntry {
  readonly fstype: 'nfs' | 'nfs4'
  readonly options: readonly MountOption[]
  readonly host: string
  readonly path: string
}

/** What to mount from a server: an export and, for a home, the path below it. */
export interface MountTarget {
  readonly export: string
  readonly rest?: string
  /** Replaces the configured options of the server (from auto_static.cfg). */
  readonly options?: readonly MountOption[]
  /** Over the server's options, key by key (a tree's, like ro). */
  readonly over?: readonly MountOption[]
}

/** The options a target mounts with before defaults and safety: its own or the server's, with `over` on top. */
function baseOptions(target: MountTarget, configured: readonly MountOption[]): readonly MountOption[] {
  const base = target.options ?? configured
  return target.over === undefined ? base : withDefaults(target.over, base)
}

function tail(target: MountTarget): string {
  return target.rest === undefined || target.rest === '' ? `/${target.export}` : `/${target.export}/${target.rest}`
}

function nfsEntry(config: Config, server: NfsServer, target: MountTarget): MountEntry {
  const prefix = (server.section?.export_prefix ?? config.nfs.export_prefix).split('{server}').join(server.name)
  return {
    fstype: 'nfs',
    options: withSafety(baseOptions(target, server.section?.options ?? config.nfs.options)),
    host: server.name,
    path: `${prefix === '/' ? '' : prefix}${tail(target)}`,
  }
}

/** The host to mount: an explicit mount target, the DNS name built from the id, or the name itself. */
function efsHost(config: Config, server: EfsServer): string {
  const explicit = server.section?.mount_target_ip
  if (explicit !== undefined) return explicit
  if (server.reason === 'file system id' && server.fsId !== undefined) {
    return formatEfsDnsName(config.efs.dns_name_format, {
      az: server.az,
      fsId: server.fsId,
      region: server.region,
      suffix: server.dnsNameSuffix,
    })
  }
  return server.name
}

/** How an EFS server is reached, when decided at mount time: the resolved host, or the TLS proxy's port. */
export interface EfsVia {
  readonly host?: string
  readonly proxyPort?: number
}

function efsEntry(config: Config, server: EfsServer, target: MountTarget, via: EfsVia): MountEntry {
  const options = withSafety(withDefaults(baseOptions(target, server.section?.options ?? config.efs.options), EFS_DEFAULT_OPTIONS))
  if (!usesTls(config, server)) return { fstype: 'nfs4', options, host: via.host ?? efsHost(config, server), path: tail(target) }
  const proxyPort = via.proxyPort
  if (proxyPort === undefined) throw new EfsHomeError('ENTRY', `EFS server ${server.name} needs TLS and no proxy port was given`)
  // nobind: autofs bind-mounts a "local" server's path instead of mounting NFS, and 127.0.0.1 is local.
  return {
    fstype: 'nfs4',
    options: [...options, ['port', String(proxyPort)], ['nobind', undefined]],
    host: '127.0.0.1',
    path: tail(target),
  }
}

/** The entry for `target` on `server`; an EFS server that uses TLS needs its proxy's port. */
export function buildEntry(config: Config, server: Server, target: MountTarget, via: EfsVia = {}): MountEntry {
  return server.kind === 'efs' ? efsEntry(config, server, target, via) : nfsEntry(config, server, target)
}

/** The map entry text: `-fstype=nfs4,opts host:/path` (IPv6 hosts in brackets). */
export function formatEntry(entry: MountEntry): string {
  const host = entry.host.includes(':') ? `[${entry.host}]` : entry.host
  const options = [`fstype=${entry.fstype}`, formatMountOptions(entry.options)].filter((o) => o !== '').join(',')
  return `-${options} ${host}:${entry.path}`
}
