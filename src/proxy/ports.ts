// Each file system's proxy port, from [efs] port_range, chosen once and kept
// in [proxy] port_file so maps and /etc/auto.static do not churn across
// restarts and reboots. No two file systems share a port; a port some other
// process listens on is passed over.

import { dirname } from 'node:path'
import { createServer } from 'node:net'
import type { Config } from '../config/load.js'
import { EfsHomeError, oneLine } from '../errors.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { withLock } from '../util/lock.js'
import { checkTrustedDir, makeTrustedDir, readTrustedFile } from '../util/trusted-files.js'

type Assignments = Record<string, number>

function readAssignments(file: string): Assignments {
  let bytes: Buffer | undefined
  try {
    checkTrustedDir(dirname(file), 'the [proxy] port_file directory')
    bytes = readTrustedFile(file)
  } catch (err) {
    if (err instanceof EfsHomeError) throw err
    throw new EfsHomeError('CONFIG', `cannot read ${file}: ${oneLine(err)}`)
  }
  if (bytes === undefined) return {}
  const text = bytes.toString('utf8')
  try {
    const doc = JSON.parse(text) as { ports?: unknown }
    const ports = doc.ports as Record<string, unknown>
    if (typeof ports !== 'object' || ports === null) throw new Error('no ports')
    return Object.fromEntries(Object.entries(ports).filter((e): e is [string, number] => Number.isInteger(e[1])))
  } catch {
    throw new EfsHomeError('CONFIG', `${file} is not an efs-home port file; move it aside to start afresh`)
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)))
  })
}

/** The port already assigned to `fsId`, if any. */
export function assignedPort(config: Config, fsId: string): number | undefined {
  return readAssignments(config.proxy.port_file)[fsId]
}

/** The port for `fsId`: the one it has, or the lowest free one in the range, recorded. */
export async function assignPort(config: Config, fsId: string, waitMs: number): Promise<number> {
  const known = assignedPort(config, fsId)
  const { first, last } = config.efs.port_range
  if (known !== undefined && known >= first && known <= last) return known
  const file = config.proxy.port_file
  makeTrustedDir(dirname(file), 'the [proxy] port_file directory')
  return withLock(`${file}.lock`, waitMs, async () => {
    const ports = readAssignments(file)
    const mine = ports[fsId]
    if (mine !== undefined && mine >= first && mine <= last) return mine
    const taken = new Set(Object.values(ports))
    for (let port = first; port <= last; port++) {
      if (taken.has(port) || !(await isFree(port))) continue
      writeFileAtomic(file, `${JSON.stringify({ ports: { ...ports, [fsId]: port } }, null, 2)}\n`)
      return port
    }
    throw new EfsHomeError('PROXY', `no free proxy port for ${fsId}: every port of [efs] port_range ${first}-${last} is assigned or in use`)
  })
}
