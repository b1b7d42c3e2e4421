// The instance's availability zone from EC2 instance metadata (IMDSv2: a
// session token, then the placement keys). Absent or slow metadata is not an
// error: the caller then picks any reachable mount target.

import { request } from 'node:http'

export interface Placement {
  readonly azId: string | undefined
  readonly az: string | undefined
}

function endpoint(): URL {
  return new URL(process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254/')
}

function call(method: 'GET' | 'PUT', path: string, headers: Record<string, string>, ms: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(new URL(path, endpoint()), { method, headers, timeout: ms }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d.length + body.length > 4096 ? '' : d))
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : undefined))
      res.on('error', () => resolve(undefined))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
    req.end()
  })
}

const ZONE_RE = /^[a-z0-9-]{1,64}$/

export async function instancePlacement(ms: number): Promise<Placement> {
  const token = await call('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60' }, ms)
  if (token === undefined) return { azId: undefined, az: undefined }
  const headers = { 'X-aws-ec2-metadata-token': token }
  const [azId, az] = await Promise.all([
    call('GET', '/latest/meta-data/placement/availability-zone-id', headers, ms),
    call('GET', '/latest/meta-data/placement/availability-zone', headers, ms),
  ])
  // Metadata is input like any other: only zone-shaped answers count.
  return { azId: azId !== undefined && ZONE_RE.test(azId) ? azId : undefined, az: az !== undefined && ZONE_RE.test(az) ? az : undefined }
}
