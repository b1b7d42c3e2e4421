// The firewall operations, each over every managed address family:
// build (resolve and render), apply (each family that can be; never fewer
// rules for a failure), check (drift),
// remove.

import type { Config } from '../config/load.js'
import { readStaticCfgIfPresent } from '../mapgen/static-cfg.js'
import { diffLines } from '../util/diff-lines.js'
import { oneLine } from '../errors.js'
import { backendFor, loadChain, readLive, unloadChain } from './iptables.js'
import { resolveNames, type Resolution } from './resolve.js'
import { type Family, renderRules, type RuleSet } from './rules.js'
import { efsTargets } from './targets.js'
import { type Coverage, mountTargetCoverage } from './coverage.js'

export interface Built {
  readonly sets: readonly RuleSet[]
  readonly resolutions: readonly Resolution[]
  /** With nfs_scope = efs: each EFS server's mount targets in every zone, or why not all are known. */
  readonly coverage: readonly Coverage[]
}

export function families(config: Config): Family[] {
  return config.firewall.ipv6 ? [4, 6] : [4]
}

/** The rule sets for `config` (and the EFS servers of `source`, if it exists), names resolved now. */
export async function buildRules(config: Config, source: string | undefined): Promise<Built> {
  const exports = source === undefined ? [] : readStaticCfgIfPresent(source)
  const targets = efsTargets(config, exports)
  const [resolutions, coverage] = await Promise.all([
    resolveNames(targets.names, config.firewall.resolve_timeout * 1000),
    config.firewall.nfs_scope === 'efs' ? mountTargetCoverage(config, targets.servers) : [],
  ])
  const addresses = [...targets.addresses, ...resolutions.flatMap((r) => r.addresses), ...coverage.flatMap((c) => c.addresses)]
  return { sets: families(config).map((f) => renderRules(config, f, addresses)), resolutions, coverage }
}

export interface Applied {
  readonly loaded: readonly RuleSet[]
  /** Families whose rules could not be loaded: left exactly as they were. */
  readonly failed: readonly { readonly family: Family; readonly error: string }[]
}

/**
 * Loads every family's rules. A family that fails is left as it was and the
 * others stay loaded: taking rules out again because another family failed
 * would open what they close.
 */
export async function applyRules(config: Config, sets: readonly RuleSet[]): Promise<Applied> {
  const loaded: RuleSet[] = []
  const failed: { family: Family; error: string }[] = []
  for (const set of sets) {
    try {
      await loadChain(backendFor(config, set.family), config.firewall.chain, set.text)
      loaded.push(set)
    } catch (err) {
      failed.push({ family: set.family, error: oneLine(err) })
    }
  }
  return { loaded, failed }
}

/** Differences between the live rules and `sets`: `-` live only, `+` missing; empty when in step. */
export async function checkRules(config: Config, sets: readonly RuleSet[]): Promise<string[]> {
  const chain = config.firewall.chain
  const drift: string[] = []
  for (const set of sets) {
    const live = await readLive(backendFor(config, set.family), chain)
    const tag = `IPv${set.family}`
    if (!live.chainExists) drift.push(`${tag}: chain ${chain} is not loaded`)
    if (live.jumps !== 1) drift.push(`${tag}: OUTPUT jumps to ${chain} ${live.jumps} times, expected once`)
    if (live.jumps > 0 && live.aheadOfJump.length > 0) {
      drift.push(
        `${tag}: ${live.aheadOfJump.length} OUTPUT rule(s) come before the jump to ${chain} and may let traffic past it (first: ${live.aheadOfJump[0]})`,
      )
    }
    drift.push(...diffLines(live.rules, set.rules).map((line) => `${tag}: ${line}`))
    if (live.rules.length !== new Set(live.rules).size) drift.push(`${tag}: ${chain} holds duplicate rules`)
  }
  return drift
}

/** Removes our chain and jump from every family; true when anything was there. */
export async function removeRules(config: Config): Promise<boolean> {
  let removed = false
  for (const family of families(config)) removed = (await unloadChain(backendFor(config, family), config.firewall.chain)) || removed
  return removed
}
