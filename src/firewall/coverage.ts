// With [firewall] nfs_scope = efs, the rules protect EFS addresses only, and
// a file system has a mount target in every zone of its VPC, each with its
// own address: the name that resolves here gives one zone's. Every mount
// target comes from the EFS API when the rules are built; a file system
// whose targets cannot all be known is reported as only partly covered.

import type { Config } from '../config/load.js'
import { oneLine } from '../errors.js'
import type { EfsServer } from '../servers/classify.js'
import { Deadline } from '../util/deadline.js'
import { type Cidr, parseCidr } from './addresses.js'

export interface Coverage {
  readonly server: string
  readonly addresses: readonly Cidr[]
  /** Set when some mount targets may be missing from `addresses`: why. */
  readonly partial?: string
}

async function coverageOf(server: EfsServer, timeoutSeconds: number): Promise<Coverage> {
  if (server.fsId === undefined)
    return {
      server: server.name,
      addresses: [],
      partial: 'no file system id (fs_id in its [server] section), so its mount targets cannot be listed',
    }
  try {
    // Loaded only here: the SDK is large, and with nfs_scope = all nothing asks it.
    const { describeMountTargets } = await import('../efs/mount-targets.js')
    const targets = await describeMountTargets(server.fsId, server.region, new Deadline(timeoutSeconds))
    // Every target that has an address, whatever its state: one being created is about to take traffic.
    const addresses = targets.flatMap((t) => (t.IpAddress === undefined ? [] : (parseCidr(t.IpAddress) ?? [])))
    return addresses.length > 0
      ? { server: server.name, addresses }
      : { server: server.name, addresses, partial: 'the EFS API lists no mount target address' }
  } catch (err) {
    return { server: server.name, addresses: [], partial: `DescribeMountTargets for ${server.fsId} failed (${oneLine(err)})` }
  }
}

/** Every mount target of every EFS server, one answer per server; in parallel, each bounded. */
export async function mountTargetCoverage(config: Config, servers: readonly EfsServer[]): Promise<Coverage[]> {
  return Promise.all(servers.map((s) => coverageOf(s, Math.max(config.firewall.resolve_timeout, 5))))
}

/** The line that says what a partly covered server leaves open, and the two ways to close it. */
export function partialCoverageLine(c: Coverage): string {
  return `${c.server} is only partly covered: ${c.partial}; non-root processes may reach its mount targets in other zones: give this host elasticfilesystem:DescribeMountTargets, or set [firewall] nfs_scope = all`
}
