// Which EFS file system a proxy serves and the name the server's certificate
// must carry: <fs_id>.efs.<region>.<suffix>. Where it connects is decided
// like any EFS mount (src/efs/host.ts).

import type { Config } from '../config/load.js'
import { EfsHomeError } from '../errors.js'
import { classifyServer, type EfsServer } from '../servers/classify.js'
import { formatEfsDnsName } from '../servers/efs-names.js'
import { efsNfsPort } from '../efs/nfs-port.js'

export interface ProxyTarget {
  readonly fsId: string
  /** The NFS port of the mount target. */
  readonly port: number
  /** What the certificate is checked against. */
  readonly serverName: string
  readonly region: string
  /** Present a client certificate with this host's IAM identity ([efs] iam). */
  readonly iam: boolean
  /** Present a client certificate naming this access point. */
  readonly accessPoint: string | undefined
}

export function proxyTarget(config: Config, server: EfsServer): ProxyTarget {
  if (server.fsId === undefined) {
    throw new EfsHomeError(
      'ENTRY',
      `EFS server ${server.name} needs TLS, which needs its file system id to verify the certificate: set fs_id in [server "${server.name}"], or tls = false there to mount it unencrypted`,
    )
  }
  return {
    fsId: server.fsId,
    port: efsNfsPort(),
    serverName: formatEfsDnsName('{fs_id}.efs.{region}.{dns_name_suffix}', {
      fsId: server.fsId,
      region: server.region,
      suffix: server.dnsNameSuffix,
      az: undefined,
    }),
    region: server.region,
    iam: server.section?.iam ?? config.efs.iam,
    accessPoint: server.section?.access_point,
  }
}

/** The EFS server behind a file system id: the [server] section that names it, or the id itself. */
export function efsServerById(config: Config, fsId: string): EfsServer {
  for (const [name, section] of config.servers) {
    if (section.fs_id === fsId || name === fsId) {
      const server = classifyServer(config, name)
      if (server.kind === 'efs') return server
    }
  }
  const server = classifyServer(config, fsId)
  if (server.kind !== 'efs') throw new EfsHomeError('CONFIG', `'${fsId}' is not an EFS file system id`)
  return server
}

/** Does the proxy present a client certificate (IAM, an access point)? */
export function presentsCertificate(target: ProxyTarget): boolean {
  return target.iam || target.accessPoint !== undefined
}

/** `IAM <key id> (account <id>) from <source>`, as doctor and `proxy certificate` say it. */
export function iamIdentity(who: {
  readonly accessKeyId: string
  readonly accountId?: string | undefined
  readonly source: string
}): string {
  return `IAM ${who.accessKeyId}${who.accountId === undefined ? '' : ` (account ${who.accountId})`} from ${who.source}`
}

export function usesTls(config: Config, server: EfsServer): boolean {
  return server.section?.tls ?? config.efs.tls
}
