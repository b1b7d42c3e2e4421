// npm run bench [-- --only lookup|storm|map-gen|proxy|client-cert|drills|ldap-drills
//                   --runs 100 --lookups 1000 --concurrency 1,10,50
//                   --sizes 10000,100000,300000 --megabytes 256 --rounds 9
//                   --gib 2 --kill-every 3 --growth-lookups 10000 --soak-lookups 100000
//                   --connections 200 --json FILE]:
// benchmarks and drills, not tests. Prints tables of medians, ratios and
// counts; --json FILE writes them (with the commit and Node version) for
// comparison between versions.

import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { ROOT } from '../fixtures/run.js'
import type { Owner } from '../fixtures/scratch.js'
import { benchLookup } from './lookup.js'
import { benchMapGen } from './map-gen.js'
import { benchProxy } from './proxy.js'
import { type DrillResult, runDrills } from './drills.js'
import { killDuringTransfer, loginsOnOneFileSystem } from './proxy-drills.js'
import { benchStorm } from './storm.js'
import { benchClientCert } from './client-cert.js'

const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args[i + 1]
}
const runs = Number(option('--runs') ?? 100)
const jsonFile = option('--json')
// map-gen sizes, comma-separated: --sizes 10000,100000,300000
const sizes = (option('--sizes') ?? '10000,100000,300000').split(',').map(Number)
const lookups = Number(option('--lookups') ?? 1000)
const only = option('--only')

const cleanups: (() => unknown)[] = []
const owner: Owner = { teardown: (fn) => cleanups.push(fn) }
async function lookupReport(): Promise<unknown> {
  const lookup = await benchLookup(owner, runs, Number(option('--soak-lookups') ?? 100000))
  const rows = [
    ...Object.entries(lookup.medianMs).map(([k, v]) => `median ${k.padEnd(34)} ${v.toFixed(1).padStart(8)} ms`),
    ...Object.entries(lookup.cpuMsPerLookup).map(([k, v]) => `CPU per lookup ${k.padEnd(26)} ${v.toFixed(1).padStart(8)} ms`),
    ...Object.entries(lookup.ratios).map(([k, v]) => `ratio  ${k.padEnd(34)} ${v.toFixed(2).padStart(8)}`),
    ...Object.entries(lookup.peakRssKb).map(([k, v]) => `peak RSS ${k.padEnd(32)} ${(v / 1024).toFixed(1).padStart(8)} MB`),
  ]
  const { soak } = lookup
  const samples = soak.samples.map((x) => `${x.after}: ${x.rssMb.toFixed(0)} MB, ${x.openFiles} files`).join('; ')
  rows.push(
    `agent over ${soak.lookups} lookups through the thin map (${soak.failed} failed): ${samples}; peak ${soak.peakRssMb.toFixed(0)} MB`,
  )
  process.stdout.write(`lookup latency (${runs} runs each, slapd with 20,000 users)\n${rows.join('\n')}\n\n`)
  return lookup
}

async function mapGenReport(): Promise<unknown> {
  const results = []
  process.stdout.write('efs-map-gen --from-ldap vs ldapsearch paging through the same users\n')
  for (const users of sizes) {
    const r = await benchMapGen(owner, users)
    results.push(r)
    process.stdout.write(
      `${String(users).padStart(7)} users: map-gen ${r.mapGen.seconds.toFixed(2)} s, ${r.mapGen.peakRssMb.toFixed(0)} MB; ldapsearch ${r.ldapsearch.seconds.toFixed(2)} s, ${r.ldapsearch.peakRssMb.toFixed(0)} MB; ratio ${r.ratio.toFixed(2)}\n`,
    )
    for (const fn of cleanups.splice(0).reverse()) await fn()
  }
  return results
}

async function proxyReport(): Promise<unknown> {
  const r = await benchProxy(owner, Number(option('--megabytes') ?? 256), Number(option('--rounds') ?? 9))
  process.stdout.write(
    `TLS proxy vs stunnel client mode (same TLS server, echo behind it; medians of ${r.proxy.rounds.length} interleaved rounds)\n`,
  )
  for (const [name, f] of [
    ['proxy', r.proxy],
    ['stunnel', r.stunnel],
  ] as const) {
    process.stdout.write(
      `${name.padEnd(8)} ${f.mbPerSecond.toFixed(0).padStart(6)} MB/s, RPC p50 ${f.rpcP50ms.toFixed(3)} ms p99 ${f.rpcP99ms.toFixed(3)} ms, ${f.cpuSecondsPerGiB.toFixed(2)} CPU s/GiB, peak RSS ${f.peakRssMb.toFixed(0)} MB\n`,
    )
    process.stdout.write(`${''.padEnd(8)} rounds, MB/s: ${f.rounds.map((x) => x.mbPerSecond.toFixed(0)).join(' ')}\n`)
  }
  process.stdout.write(`proxy RSS before any traffic: ${r.proxyIdleRssMb.toFixed(0)} MB\n`)
  for (const [name, f] of Object.entries(r.parallel)) {
    process.stdout.write(
      `16 streams at once, ${name.padEnd(8)} ${f.mbPerSecond.toFixed(0).padStart(6)} MB/s in all, peak RSS since start ${f.peakRssMb.toFixed(0)} MB\n`,
    )
  }
  for (const [k, v] of Object.entries(r.ratios)) process.stdout.write(`ratio  ${k.padEnd(30)} ${v.toFixed(2)}\n`)
  process.stdout.write('\n')
  for (const fn of cleanups.splice(0).reverse()) await fn()
  return r
}

async function clientCertReport(): Promise<unknown> {
  const r = await benchClientCert(owner, Number(option('--connections') ?? 200))
  process.stdout.write(
    `TLS proxy with and without a client certificate (IAM and an access point), ${r.connections} new connections each, taking turns\n`,
  )
  for (const [name, ms] of Object.entries(r.firstByteMs))
    process.stdout.write(`first byte, ${name.padEnd(20)} ${ms.toFixed(2).padStart(8)} ms\n`)
  process.stdout.write(`ratio  client certificate / plain ${r.ratio.toFixed(2).padStart(8)}\n`)
  process.stdout.write(
    `signing a certificate            ${r.signMs.toFixed(2).padStart(8)} ms\nmaking the host key (RSA 3072)   ${r.keyMs.toFixed(0).padStart(8)} ms\n\n`,
  )
  for (const fn of cleanups.splice(0).reverse()) await fn()
  return r
}

async function stormReport(): Promise<unknown> {
  const levels = (option('--concurrency') ?? '1,10,50').split(',').map(Number)
  const rows = await benchStorm(owner, lookups, levels)
  process.stdout.write(
    `login storm: ${lookups} lookups of existing users, efs-home-map vs the reference shell map (slapd with 20,000 users)\n`,
  )
  for (const r of rows) {
    for (const [name, f] of [
      ['thin map', r.thin],
      ['node map', r.map],
      ['no agent', r.inProcess],
      ['reference', r.reference],
    ] as const) {
      process.stdout.write(
        `concurrency ${String(r.concurrency).padStart(2)} ${name.padEnd(9)} ${f.wallSeconds.toFixed(1).padStart(6)} s wall, ${f.failed} failed, ` +
          `median ${(f.medianSeconds * 1000).toFixed(0)} ms, slowest ${(f.slowestSeconds * 1000).toFixed(0)} ms, ` +
          `LDAP per lookup: ${f.connectionsPerLookup.toFixed(2)} connections, ${f.operationsPerLookup.toFixed(2)} operations\n`,
      )
    }
    for (const error of [r.thin, r.map, r.inProcess, r.reference].flatMap((f) => f.errors)) process.stdout.write(`  failure: ${error}\n`)
    process.stdout.write(
      `concurrency ${String(r.concurrency).padStart(2)} ratio thin map / reference: wall time ${r.ratio.wall.toFixed(2)}, median login ${r.ratio.median.toFixed(2)}\n`,
    )
  }
  process.stdout.write('\n')
  for (const fn of cleanups.splice(0).reverse()) await fn()
  return rows
}

async function drillsReport(): Promise<unknown> {
  const results: DrillResult[] = []
  const report = async (work: () => Promise<DrillResult[]>) => {
    for (const r of await work()) {
      results.push(r)
      const figures = Object.entries(r.figures)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
      process.stdout.write(`${r.pass ? 'PASS' : 'FAIL'} ${r.name}: ${figures}\n`)
    }
    for (const fn of cleanups.splice(0).reverse()) await fn()
  }
  process.stdout.write('drills\n')
  await report(() => runDrills(owner, lookups))
  // --only ldap-drills: the LDAP drills alone, without the proxy's (minutes of NFS traffic).
  if (only === 'ldap-drills') return results
  await report(async () => [await killDuringTransfer(owner, Number(option('--gib') ?? 2), Number(option('--kill-every') ?? 3))])
  await report(() => loginsOnOneFileSystem(owner, Number(option('--growth-lookups') ?? 10000)))
  process.stdout.write('\n')
  return results
}

try {
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
  const report: Record<string, unknown> = { date: new Date().toISOString(), commit, node: process.version, options: args }
  if (only === undefined || only === 'drills' || only === 'ldap-drills') report.drills = await drillsReport()
  if (only === undefined || only === 'storm') report.storm = await stormReport()
  if (only === undefined || only === 'proxy') report.proxy = await proxyReport()
  if (only === undefined || only === 'client-cert') report.clientCert = await clientCertReport()
  if (only === undefined || only === 'lookup') report.lookup = await lookupReport()
  if (only === undefined || only === 'map-gen') report.mapGen = await mapGenReport()
  if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`)
} finally {
  for (const fn of cleanups.reverse()) await fn()
}
