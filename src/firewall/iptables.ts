// The kernel side: iptables-save, iptables-restore and iptables for one
// address family and backend. Our rules live in a chain of our own, loaded
// whole with `restore --noflush`; the one jump from OUTPUT is added only if
// absent; nothing else in the ruleset is touched.

import { execFile } from 'node:child_process'
import type { Config } from '../config/load.js'
import { EfsHomeError, errnoCode } from '../errors.js'
import type { Family } from './rules.js'

export interface Backend {
  readonly family: Family
  readonly iptables: string
  readonly save: string
  readonly restore: string
}

export interface LiveState {
  readonly chainExists: boolean
  /** The chain's rules as iptables-save prints them. */
  readonly rules: readonly string[]
  /** How many plain `-A OUTPUT -j CHAIN` jumps there are. */
  readonly jumps: number
  /** The OUTPUT rules before the first jump: any of them may let traffic past our chain. */
  readonly aheadOfJump: readonly string[]
}

export function backendFor(config: Config, family: Family): Backend {
  const base = family === 4 ? 'iptables' : 'ip6tables'
  const flavour = config.firewall.backend === 'auto' ? '' : `-${config.firewall.backend}`
  return { family, iptables: `${base}${flavour}`, save: `${base}${flavour}-save`, restore: `${base}${flavour}-restore` }
}

function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: 30_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout)
      const code = errnoCode(err)
      const why = code === 'ENOENT' ? 'not found: install the iptables package' : stderr.trim().split('\n').pop() || err.message
      reject(new EfsHomeError('FIREWALL', `${command} ${args.join(' ')}: ${why}`))
    })
    // A tool that fails before reading its input closes the pipe: its exit status tells why.
    child.stdin?.on('error', () => undefined)
    child.stdin?.end(input)
  })
}

export async function readLive(b: Backend, chain: string): Promise<LiveState> {
  const lines = (await run(b.save, ['-t', 'filter'])).split('\n')
  const output = lines.filter((l) => l.startsWith('-A OUTPUT '))
  const jump = `-A OUTPUT -j ${chain}`
  const first = output.indexOf(jump)
  return {
    chainExists: lines.some((l) => l.startsWith(`:${chain} `)),
    rules: lines.filter((l) => l.startsWith(`-A ${chain} `)),
    jumps: output.filter((l) => l === jump).length,
    aheadOfJump: first < 0 ? output : output.slice(0, first),
  }
}

/**
 * Replaces the chain's rules with `document` (an iptables-restore text) and
 * makes OUTPUT jump to it exactly once, as its first rule: a rule before the
 * jump (`-o lo -j ACCEPT`, say) could let traffic past the chain.
 */
export async function loadChain(b: Backend, chain: string, document: string): Promise<void> {
  await run(b.restore, ['--noflush', '-w', '5'], document)
  const jumps = await jumpPositions(b, chain)
  // The new first jump goes in before the old ones are taken out: never a moment without one.
  if (jumps[0] !== 1) await run(b.iptables, ['-w', '5', '-I', 'OUTPUT', '1', '-j', chain])
  const stale = jumps[0] !== 1 ? jumps.map((p) => p + 1) : jumps.slice(1)
  for (const position of stale.reverse()) await run(b.iptables, ['-w', '5', '-D', 'OUTPUT', String(position)])
}

/** Rule numbers of the plain jumps to `chain` in OUTPUT. */
async function jumpPositions(b: Backend, chain: string): Promise<number[]> {
  const rules = (await run(b.iptables, ['-w', '5', '-S', 'OUTPUT'])).split('\n').filter((l) => l.startsWith('-A OUTPUT'))
  return rules.flatMap((rule, i) => (rule === `-A OUTPUT -j ${chain}` ? [i + 1] : []))
}

/** Takes out the jumps, then the chain: the rest of the ruleset stays as it was. */
export async function unloadChain(b: Backend, chain: string): Promise<boolean> {
  const live = await readLive(b, chain)
  for (let i = 0; i < live.jumps; i++) await run(b.iptables, ['-w', '5', '-D', 'OUTPUT', '-j', chain])
  if (!live.chainExists) return live.jumps > 0
  await run(b.iptables, ['-w', '5', '-F', chain])
  await run(b.iptables, ['-w', '5', '-X', chain])
  return true
}
