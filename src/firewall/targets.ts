// What the firewall protects: every EFS server the host may mount, by
// address. From [server] sections and auto_static.cfg: the configured mount
// target, else the alias and the EFS DNS names (regional and zonal); plus
// [firewall] addresses, which should list the subnets of every mount target
// (a DNS name gives only the mount target of one zone).

import type { Config } from '../config/load.js'
import type { StaticExport } from '../mapgen/static-cfg.js'
import { type EfsServer, efsServersOf } from '../servers/classify.js'
import { FS_ID_RE, formatEfsDnsName } from '../servers/efs-names.js'
import { type Cidr, parseCidr } from './addresses.js'

export interface Targets {
  /** Host names to resolve. */
  readonly names: readonly string[]
  readonly addresses: readonly Cidr[]
  /** The EFS servers themselves, for the mount targets of every zone. */
  readonly servers: readonly EfsServer[]
}

export function efsTargets(config: Config, exports: readonly StaticExport[]): Targets {
  const names = new Set<string>()
  const addresses = new Map<string, Cidr>(config.firewall.addresses.map((c) => [c.text, c]))
  const add = (nameOrAddress: string) => {
    const cidr = parseCidr(nameOrAddress)
    if (cidr === undefined) names.add(nameOrAddress.toLowerCase())
    else addresses.set(cidr.text, cidr)
  }
  const servers = efsServersOf(config, exports)
  for (const server of servers) {
    // A configured mount target is where this server's homes are mounted from.
    const mountTarget = server.section?.mount_target_ip
    if (mountTarget !== undefined) {
      add(mountTarget)
      continue
    }
    if (!FS_ID_RE.test(server.name)) add(server.name)
    if (server.fsId !== undefined) {
      const dns = { fsId: server.fsId, region: server.region, suffix: server.dnsNameSuffix }
      add(formatEfsDnsName(config.efs.dns_name_format, { ...dns, az: undefined }))
      if (server.az !== undefined) add(formatEfsDnsName(config.efs.dns_name_format, { ...dns, az: server.az }))
    }
  }
  return { names: [...names].sort(), addresses: [...addresses.values()], servers }
}
