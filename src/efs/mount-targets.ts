// A mount target for a file system whose DNS name does not resolve, as
// efs-utils finds one: DescribeMountTargets, the `available` ones, the one in
// the instance's zone first (by zone id, then name), then any; the first
// that accepts TCP on 2049 wins. All within the lookup's deadline.

import { isIP } from 'node:net'
import { DescribeMountTargetsCommand, EFSClient, type MountTargetDescription } from '@aws-sdk/client-efs'
import type { Deadline } from '../util/deadline.js'
import { tcpProbe } from '../util/tcp-probe.js'
import { instancePlacement } from './imds.js'
import { efsNfsPort } from './nfs-port.js'

export interface Chosen {
  readonly ip: string
  readonly notes: readonly string[]
}

const API_TIMEOUT_MS = 3000
const IMDS_TIMEOUT_MS = 1000
const PROBE_TIMEOUT_MS = 2000

/** Every mount target of `fsId`, in every zone, from the EFS API. */
export async function describeMountTargets(fsId: string, region: string, deadline: Deadline): Promise<MountTargetDescription[]> {
  // The SDK's Node-version notice, printed when a client is made, would land in automount's log as an error.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  const client = new EFSClient({ region: process.env.AWS_REGION ?? region, maxAttempts: 2 })
  const abort = AbortSignal.timeout(Math.max(1, deadline.budget(API_TIMEOUT_MS)))
  try {
    const answer = await client.send(new DescribeMountTargetsCommand({ FileSystemId: fsId }), { abortSignal: abort })
    return answer.MountTargets ?? []
  } finally {
    client.destroy()
  }
}

export async function chooseMountTarget(fsId: string, region: string, deadline: Deadline): Promise<Chosen> {
  const [targets, placement] = await Promise.all([
    describeMountTargets(fsId, region, deadline),
    instancePlacement(deadline.budget(IMDS_TIMEOUT_MS)),
  ])
  const available = targets.filter((t) => t.LifeCycleState === 'available' && t.IpAddress !== undefined && isIP(t.IpAddress) !== 0)
  if (available.length === 0) {
    throw new Error(
      targets.length === 0 ? `${fsId} has no mount targets` : `none of the ${targets.length} mount targets of ${fsId} is available`,
    )
  }
  const rank = (t: MountTargetDescription) =>
    placement.azId !== undefined && t.AvailabilityZoneId === placement.azId
      ? 0
      : placement.az !== undefined && t.AvailabilityZoneName === placement.az
        ? 1
        : 2
  const ordered = [...available].sort((a, b) => rank(a) - rank(b))
  const notes = [`${available.length} available mount target(s); instance zone ${placement.azId ?? placement.az ?? 'unknown'}`]
  for (const target of ordered) {
    const ip = target.IpAddress ?? ''
    if (deadline.remainingMs() <= 0) break
    if ((await tcpProbe(ip, efsNfsPort(), deadline.budget(PROBE_TIMEOUT_MS))) === undefined)
      return { ip, notes: [...notes, `${ip} (${target.AvailabilityZoneName ?? '?'}) accepts TCP 2049`] }
    notes.push(`${ip} does not accept TCP 2049`)
  }
  throw new Error(`no mount target of ${fsId} accepts TCP 2049 (${notes.join('; ')})`)
}
