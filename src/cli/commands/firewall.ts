// efs-home firewall render | apply | check | remove

import { join } from 'node:path'
import { loadConfig } from '../../config/load.js'
import { partialCoverageLine } from '../../firewall/coverage.js'
import { applyRules, type Built, buildRules, checkRules, removeRules } from '../../firewall/firewall.js'
import { writeFileAtomic } from '../../util/atomic-write.js'
import { errorCodeOf, type Guard, runGuarded } from '../exit.js'
import type { Output } from '../output.js'

export type FirewallAction = 'render' | 'apply' | 'check' | 'remove'

export interface FirewallArgs {
  readonly source: string
  readonly outputDir?: string | undefined
}

/** Names that gave no address, and file systems only partly covered, are reported one per line; they make the exit status 1. */
function reportUnresolved(built: Built, out: Output): number {
  const failed = built.resolutions.filter((r) => r.error !== undefined)
  for (const r of failed) out.err(`efs-home: firewall: ${r.name} did not resolve (${r.error}); its addresses are not protected`)
  const partial = built.coverage.filter((c) => c.partial !== undefined)
  for (const c of partial) out.err(`efs-home: firewall: ${partialCoverageLine(c)}`)
  return failed.length + partial.length > 0 ? 1 : 0
}

async function act(action: FirewallAction, args: FirewallArgs, out: Output): Promise<number> {
  const config = loadConfig()
  if (action === 'remove') {
    out.out((await removeRules(config)) ? `removed chain ${config.firewall.chain} and its jump from OUTPUT` : 'nothing to remove')
    return 0
  }
  const built = await buildRules(config, args.source)
  if (action === 'render') {
    for (const set of built.sets) {
      if (args.outputDir === undefined) out.out(set.text.trimEnd())
      else writeFileAtomic(join(args.outputDir, `efs-home.rules.v${set.family}`), set.text)
    }
    if (args.outputDir !== undefined)
      out.out(`wrote ${built.sets.map((s) => join(args.outputDir ?? '', `efs-home.rules.v${s.family}`)).join(' and ')}`)
    return reportUnresolved(built, out)
  }
  if (action === 'apply') {
    const applied = await applyRules(config, built.sets)
    if (applied.loaded.length > 0)
      out.out(applied.loaded.map((s) => `IPv${s.family}: ${config.firewall.chain} loaded, ${s.rules.length} rules`).join('; '))
    for (const f of applied.failed)
      out.err(`efs-home: firewall apply: IPv${f.family}: ${f.error}; the IPv${f.family} rules are as they were`)
    const unresolved = reportUnresolved(built, out)
    return applied.failed.length > 0 ? 2 : unresolved
  }
  const drift = await checkRules(config, built.sets)
  for (const line of drift) out.out(line)
  if (drift.length === 0) out.out(`in step: ${built.sets.map((s) => `IPv${s.family} ${s.rules.length} rules`).join(', ')}`)
  return Math.max(drift.length > 0 ? 1 : 0, reportUnresolved(built, out))
}

/** An iptables failure leaves the rules as they were: the line says so. */
export const firewallGuard: Guard = { after: (err) => (errorCodeOf(err) === 'FIREWALL' ? '; the rules are as they were' : '') }

/** efs-home firewall ACTION, and efs-map-gen --firewall. */
export function firewallCommand(action: FirewallAction, args: FirewallArgs, out: Output): Promise<number> {
  return runGuarded(`efs-home: firewall ${action}`, out, () => act(action, args, out), firewallGuard)
}
