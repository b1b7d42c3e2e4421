// NFS read-ahead for EFS mounts, as efs-utils sets it after each mount
// (15 × rsize: kernels since 5.4 read ahead only 128 KiB on NFS, which cuts
// large sequential reads from EFS badly). automount mounts, so nobody is
// there to set it afterwards: a udev rule (templates/efs-home-readahead.rules)
// runs `efs-home readahead <bdi>` as each NFS backing device appears, and
// writes what it prints to the device's read_ahead_kb. Classic NFS servers
// print nothing and keep the kernel's value (or nfsrahead's, if the site
// configured it in /etc/nfs.conf).

import type { Config } from '../config/load.js'
import { classifyServer } from '../servers/classify.js'

export interface Mounted {
  readonly device: string
  readonly fstype: string
  readonly source: string
  readonly superOptions: ReadonlyMap<string, string | undefined>
}

/** The mount of backing device `device` (major:minor) in /proc/self/mountinfo's text, if it is there yet. */
export function mountOfDevice(mountinfo: string, device: string): Mounted | undefined {
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ')
    const fields = left?.split(' ') ?? []
    if (fields[2] !== device || right === undefined) continue
    const [fstype = '', source = '', options = ''] = right.split(' ')
    const superOptions = new Map(
      options.split(',').map((o) => {
        const eq = o.indexOf('=')
        return eq === -1 ? [o, undefined] : [o.slice(0, eq), o.slice(eq + 1)]
      }),
    )
    return { device, fstype, source, superOptions }
  }
  return undefined
}

/** The server of an NFS source (`host:/path`, `[v6]:/path`). */
function sourceHost(source: string): string | undefined {
  const m = /^\[([^\]]+)\]:\//.exec(source) ?? /^([^:[\]]+):\//.exec(source)
  return m?.[1]
}

/** Is this mount EFS: through one of our TLS proxies, or a server the config classifies as EFS? */
function isEfs(config: Config, mounted: Mounted): boolean {
  const host = sourceHost(mounted.source)
  if (host === undefined) return false
  const port = Number(mounted.superOptions.get('port'))
  const { first, last } = config.efs.port_range
  // Only a proxy of ours listens on loopback in the proxy range: efs-home refuses every other location on this host.
  if (host === '127.0.0.1' && port >= first && port <= last) return true
  try {
    return classifyServer(config, host).kind === 'efs'
  } catch {
    return false
  }
}

/** read_ahead_kb for the mount, or undefined to leave it alone (not NFS, not EFS, or turned off). */
export function readAheadKb(config: Config, mounted: Mounted): number | undefined {
  if (config.efs.read_ahead === 0 || !/^nfs4?$/.test(mounted.fstype) || !isEfs(config, mounted)) return undefined
  const rsize = Number(mounted.superOptions.get('rsize'))
  if (!Number.isSafeInteger(rsize) || rsize <= 0) return undefined
  return Math.floor((config.efs.read_ahead * rsize) / 1024)
}
