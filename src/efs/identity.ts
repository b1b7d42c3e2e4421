// A file system's id, needed to verify its TLS certificate. From the server
// section or the name itself; for a custom name, only as efs-utils accepts
// one: a CNAME (chain) that ends at the file system's EFS DNS name. A name
// that is an A record to some address says nothing about which file system
// answers there, so it is refused.

import { resolveCname } from 'node:dns/promises'
import type { Config } from '../config/load.js'
import { EfsHomeError, oneLine, errnoCode } from '../errors.js'
import type { EfsServer } from '../servers/classify.js'
import { parseEfsDnsName } from '../servers/efs-names.js'
import { type Deadline, withTimeout } from '../util/deadline.js'

const DNS_TIMEOUT_MS = 2000
const MAX_CHAIN = 8

export async function withFileSystemId(config: Config, server: EfsServer, deadline: Deadline): Promise<EfsServer> {
  if (server.fsId !== undefined) return server
  let name = server.name
  for (let hop = 0; hop < MAX_CHAIN; hop++) {
    let next: string[]
    try {
      next = await withTimeout(resolveCname(name), deadline.budget(DNS_TIMEOUT_MS), `the CNAME of ${name}`)
    } catch (err) {
      const code = errnoCode(err)
      if (code === 'ENODATA' || code === 'ENOTFOUND') break
      throw new EfsHomeError('ENTRY', `cannot tell which file system ${server.name} is: ${oneLine(err)}`)
    }
    if (next.length !== 1 || next[0] === undefined) break
    name = next[0].toLowerCase().replace(/\.$/, '')
    const efs = parseEfsDnsName(name)
    if (efs === undefined) continue
    const suffix = server.section?.dns_name_suffix ?? config.efs.dns_name_suffix
    if (efs.suffix !== suffix)
      throw new EfsHomeError('ENTRY', `${server.name} leads to ${name}, which does not end in the configured DNS suffix ${suffix}`)
    return { ...server, fsId: efs.fsId, region: efs.region, dnsNameSuffix: efs.suffix, az: server.az ?? efs.az }
  }
  const via = name === server.name ? '' : ` (it leads to ${name})`
  throw new EfsHomeError(
    'ENTRY',
    `EFS server ${server.name} needs TLS, which needs its file system id, and the name is not a CNAME to an EFS DNS name${via}: set fs_id in [server "${server.name}"], or tls = false there`,
  )
}
