// Where to mount an EFS file system from, decided at mount time the way
// efs-utils decides it: mount_target_ip when configured; else the EFS DNS
// name when it resolves; else (another VPC or account) a mount target
// address from the EFS API. Aliases are mounted by their own name.

import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { Config } from '../config/load.js'
import { EfsHomeError, oneLine } from '../errors.js'
import type { EfsServer } from '../servers/classify.js'
import { formatEfsDnsName, parseEfsDnsName } from '../servers/efs-names.js'
import { type Deadline, withTimeout } from '../util/deadline.js'

export type HostSource = 'mount_target_ip' | 'alias' | 'dns' | 'api'

export interface EfsHost {
  readonly host: string
  readonly source: HostSource
  /** What was tried on the way, for `efs-home lookup` and doctor. */
  readonly notes: readonly string[]
}

const DNS_TIMEOUT_MS = 2000

async function addressOf(name: string, deadline: Deadline): Promise<string | undefined> {
  try {
    const { address } = await withTimeout(lookup(name, { family: 0 }), deadline.budget(DNS_TIMEOUT_MS), `resolving ${name}`)
    return address
  } catch {
    return undefined
  }
}

/** The EFS DNS name of `server`, with its zone when one is known. */
export function efsDnsName(config: Config, server: EfsServer): string | undefined {
  if (server.reason === 'EFS DNS name') return server.name
  if (server.fsId === undefined) return undefined
  return formatEfsDnsName(config.efs.dns_name_format, {
    az: server.az,
    fsId: server.fsId,
    region: server.region,
    suffix: server.dnsNameSuffix,
  })
}

/** Name forms efs-utils refuses: a DNS name of another partition's suffix, a zone that contradicts the name's. */
export function checkEfsName(config: Config, server: EfsServer): void {
  const name = server.reason === 'EFS DNS name' ? parseEfsDnsName(server.name) : undefined
  if (name === undefined) return
  const suffix = server.section?.dns_name_suffix ?? config.efs.dns_name_suffix
  if (name.suffix !== suffix) {
    throw new EfsHomeError(
      'ENTRY',
      `${server.name} does not end in the configured DNS suffix ${suffix}; set dns_name_suffix in [efs] or its [server] section if it is right`,
    )
  }
  if (server.section?.az !== undefined && name.az !== undefined && server.section.az !== name.az) {
    throw new EfsHomeError('ENTRY', `${server.name} names zone ${name.az}, but its [server] section says az = ${server.section.az}`)
  }
}

/** efs-utils' crossaccount name: the mount target in the instance's own zone, by zone id. */
async function zoneIdDnsName(server: EfsServer, deadline: Deadline): Promise<string> {
  const { instancePlacement } = await import('./imds.js')
  const { azId } = await instancePlacement(deadline.budget(1000))
  if (azId === undefined || server.fsId === undefined) {
    throw new EfsHomeError('ENTRY', `crossaccount needs this instance's availability zone id from instance metadata, and none came`)
  }
  return `${azId}.${server.fsId}.efs.${server.region}.${server.dnsNameSuffix}`
}

export async function resolveEfsHost(config: Config, server: EfsServer, deadline: Deadline): Promise<EfsHost> {
  checkEfsName(config, server)
  const explicit = server.section?.mount_target_ip
  if (explicit !== undefined) {
    if (isIP(explicit) !== 0) return { host: explicit, source: 'mount_target_ip', notes: [] }
    const address = await addressOf(explicit, deadline)
    if (address === undefined) throw new EfsHomeError('ENTRY', `mount_target_ip ${explicit} of ${server.name} does not resolve`)
    return { host: address, source: 'mount_target_ip', notes: [`${explicit} is ${address}`] }
  }
  const byName = server.reason === 'file system id' || server.reason === 'EFS DNS name'
  const dnsName = !byName
    ? undefined
    : (server.section?.crossaccount ?? config.efs.crossaccount)
      ? await zoneIdDnsName(server, deadline)
      : efsDnsName(config, server)
  if (dnsName === undefined) return { host: server.name, source: 'alias', notes: [] }
  if ((await addressOf(dnsName, deadline)) !== undefined) return { host: dnsName, source: 'dns', notes: [`${dnsName} resolves`] }
  if (!config.efs.fall_back_to_mount_target_ip || server.fsId === undefined) {
    throw new EfsHomeError(
      'ENTRY',
      `${dnsName} does not resolve, and [efs] fall_back_to_mount_target_ip is off; set mount_target_ip in [server "${server.name}"]`,
    )
  }
  // Loaded only here: the AWS SDK costs every other lookup nothing.
  const { chooseMountTarget } = await import('./mount-targets.js')
  try {
    const chosen = await chooseMountTarget(server.fsId, server.region, deadline)
    return { host: chosen.ip, source: 'api', notes: [`${dnsName} does not resolve`, ...chosen.notes] }
  } catch (err) {
    throw new EfsHomeError('ENTRY', `${dnsName} does not resolve, and no mount target from the EFS API: ${oneLine(err)}`)
  }
}
