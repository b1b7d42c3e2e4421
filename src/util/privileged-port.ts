// A proxy's or the agent's port is trusted because only root can bind it: true only while
// net.ipv4.ip_unprivileged_port_start (per network namespace; containers
// often set it to 0) stays above it.

import { readFileSync } from 'node:fs'

const PROXY = { name: 'the proxy', setting: 'the [efs] port_range' }
export const AGENT = { name: 'the lookup agent', setting: '[home] agent_port' }

const SYSCTL = '/proc/sys/net/ipv4/ip_unprivileged_port_start'

/** Why any user may bind `port` here and stand in for `who`, or undefined when only root can. */
export function bindableByAnyone(port: number, who: { name: string; setting: string } = PROXY): string | undefined {
  let start = 1024
  try {
    start = Number(readFileSync(SYSCTL, 'utf8').trim())
    /* c8 ignore next 3 -- kernels before 4.11, which no test machine runs, have no such setting */
  } catch {
    // 1024 is fixed there.
  }
  if (!Number.isInteger(start) || port < start) return undefined
  return `net.ipv4.ip_unprivileged_port_start is ${start}, so any user may bind port ${port} and stand in for ${who.name}; set it above ${who.setting} (sysctl -w net.ipv4.ip_unprivileged_port_start=1024)`
}
