// The rule set for one address family, from iptables/efs-home.rules.hbs, in
// exactly the form iptables-save prints, so live rules can be compared.

import type { Config } from '../config/load.js'
import { shippedTemplate } from '../util/template.js'
import type { Cidr } from './addresses.js'
import { backendFor } from './iptables.js'

export type Family = 4 | 6

export interface RuleSet {
  readonly family: Family
  /** An iptables-restore document. */
  readonly text: string
  /** Its rules, `-A CHAIN ...`, in order. */
  readonly rules: readonly string[]
}

export function renderRules(config: Config, family: Family, addresses: readonly Cidr[]): RuleSet {
  const template = shippedTemplate('iptables', 'efs-home.rules.hbs')
  const { first, last } = config.efs.port_range
  const text = template({
    family,
    config: config.file,
    restore: backendFor(config, family).restore,
    chain: config.firewall.chain,
    everywhere: config.firewall.nfs_scope === 'all',
    addresses: [...new Set(addresses.filter((a) => a.family === family).map((a) => a.text))].sort(),
    unreachable: family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable',
    loopback: family === 4 ? '127.0.0.1/32' : '::1/128',
    ports: first === last ? String(first) : `${first}:${last}`,
    // The agent listens on 127.0.0.1 only.
    agentPort: family === 4 && config.home.agent ? config.home.agent_port : undefined,
  })
  return { family, text, rules: text.split('\n').filter((line) => line.startsWith('-A ')) }
}
