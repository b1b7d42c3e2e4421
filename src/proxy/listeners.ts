// Who listens on a local TCP port, from /proc/net/tcp{,6}: ports above 1023
// can be bound by anyone, so before the kernel's NFS client is pointed at a
// port we make sure the listener there is our proxy and nobody else.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

export interface Listener {
  readonly uid: number
  readonly inode: string
}

const LISTEN = '0A'
// Addresses from which a connection to 127.0.0.1 is accepted: 127.0.0.1, 0.0.0.0, ::, ::ffff:127.0.0.1.
const REACHES_LOOPBACK = new Set(['0100007F', '00000000', '00000000000000000000000000000000', '0000000000000000FFFF00000100007F'])

export function listenersOn(port: number): Listener[] {
  const found: Listener[] = []
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      const [address, portHex] = (f[1] ?? '').split(':')
      if (f[3] !== LISTEN || parseInt(portHex ?? '', 16) !== port || !REACHES_LOOPBACK.has(address ?? '')) continue
      found.push({ uid: Number(f[7]), inode: f[9] ?? '' })
    }
  }
  return found
}

/** Inodes of the sockets process `pid` holds open. */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>()
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (m?.[1] !== undefined) inodes.add(m[1])
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // no such process
  }
  return inodes
}
