// npm run bench [-- --runs N] [-- --json FILE]: benchmarks, not tests.
// Prints a table of medians and ratios; writes them as JSON when asked.

import { writeFileSync } from 'node:fs'
import type { Owner } from '../fixtures/scratch.js'
import { benchLookup } from './lookup.js'

const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args[i + 1]
}
const runs = Number(option('--runs') ?? 100)
const jsonFile = option('--json')

const cleanups: (() => unknown)[] = []
const owner: Owner = { teardown: (fn) => cleanups.push(fn) }
try {
  const lookup = await benchLookup(owner, runs)
  const rows = [
    ...Object.entries(lookup.medianMs).map(([k, v]) => `median ${k.padEnd(34)} ${v.toFixed(1).padStart(8)} ms`),
    ...Object.entries(lookup.ratios).map(([k, v]) => `ratio  ${k.padEnd(34)} ${v.toFixed(2).padStart(8)}`),
    ...Object.entries(lookup.peakRssKb).map(([k, v]) => `peak RSS ${k.padEnd(32)} ${(v / 1024).toFixed(1).padStart(8)} MB`),
    ...Object.entries(lookup.searchesPerLookup).map(([k, v]) => `LDAP searches per lookup, ${k.padEnd(15)} ${v.toFixed(1).padStart(8)}`),
  ]
  process.stdout.write(`lookup latency (${runs} runs each, slapd with 20,000 users)\n${rows.join('\n')}\n`)
  if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify({ date: new Date().toISOString(), lookup }, null, 2)}\n`)
} finally {
  for (const fn of cleanups.reverse()) await fn()
}
