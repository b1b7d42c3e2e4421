// The TLS proxy against stunnel in client mode (the efs-utils v1 tunnel:
// TLS 1.2, verify = 2, checkHost), both in front of the same TLS server
// (stunnel in server mode, a test CA) and an echo server, side by side in one
// network namespace: bulk throughput, small-RPC round trips, CPU per GiB, RSS.

import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { writeConfig } from '../fixtures/config.js'
import { createNetns } from '../fixtures/netns.js'
import { spawnOwned, waitFor } from '../fixtures/processes.js'
import { cpuSeconds, rssMb } from '../fixtures/proc.js'
import { EFS_HOME_BIN, ROOT } from '../fixtures/run.js'
import { type Owner, scratchDir } from '../fixtures/scratch.js'
import { startStunnel } from '../fixtures/stunnel.js'
import { makeTestCa } from '../fixtures/tls.js'
import { PROXY_NODE_FLAGS } from '../../src/proxy/supervisor.js'

const FS_ID = 'fs-12345678'
const PARALLEL_STREAMS = 16
const NAME = `${FS_ID}.efs.us-east-1.amazonaws.com`

export interface TunnelFigures {
  readonly mbPerSecond: number
  readonly rpcP50ms: number
  readonly rpcP99ms: number
  readonly cpuSecondsPerGiB: number
  readonly peakRssMb: number
  /** Each round's figures, in the order run. */
  readonly rounds: readonly { mbPerSecond: number; rpcP50ms: number }[]
}

const peakRssMb = (pid: number) => rssMb(pid, 'VmHWM')

export async function benchProxy(
  owner: Owner,
  megabytes: number,
  rounds: number,
): Promise<{
  proxy: TunnelFigures
  stunnel: TunnelFigures
  proxyIdleRssMb: number
  parallel: Record<string, { mbPerSecond: number; peakRssMb: number }>
  ratios: Record<string, number>
}> {
  const ns = createNetns(owner, 'bpx')
  const inNs = (argv: string[]) => [...ns.exec, 'env', '-u', 'NODE_OPTIONS', ...argv]
  const echo = inNs([process.execPath, '-e', "require('net').createServer((s) => s.pipe(s)).listen(4000, '127.0.0.1')"])
  spawnOwned(owner, echo[0]!, echo.slice(1))
  const ca = makeTestCa(owner)
  await startStunnel(owner, { accept: '127.0.0.1:3049', connect: '127.0.0.1:4000', cert: ca.issue(NAME, [NAME]), netns: ns })
  const client = await startStunnel(owner, {
    accept: '127.0.0.1:5000',
    connect: '127.0.0.1:3049',
    client: { caFile: ca.caFile, checkHost: NAME },
    netns: ns,
  })
  const dir = scratchDir(owner, 'bpx')
  const { file } = writeConfig(
    owner,
    `[ldap]\nuri = ldap://127.0.0.1:1\nbase = dc=x\n[efs]\nca_file = ${ca.caFile}\nport_range = 300-300\n[proxy]\nstate_dir = ${dir}/run\nport_file = ${dir}/ports.json\nlog_connections = false\n[server "${FS_ID}"]\nmount_target_ip = 127.0.0.1\n`,
  )
  // As its supervisor and systemd unit run it (BENCH_NODE_FLAGS: extra node flags, to try some).
  const run = inNs([
    process.execPath,
    ...PROXY_NODE_FLAGS,
    ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    EFS_HOME_BIN,
    'proxy',
    'run',
    '--fs',
    FS_ID,
  ])
  const proxy = spawnOwned(owner, run[0]!, run.slice(1), {
    env: { PATH: process.env.PATH, EFS_HOME_CONFIG: file, EFS_HOME_TEST_TARGET_PORT: '3049' },
  })
  const { pid: proxyPid, port: proxyPort } = await waitFor('the proxy', () => {
    try {
      return JSON.parse(readFileSync(join(dir, 'run', `proxy-${FS_ID}.json`), 'utf8')) as { pid: number; port: number }
    } catch {
      return undefined
    }
  })
  const stunnelPid = Number(
    execFileSync('pgrep', ['-f', `stunnel4 ${join(client.log, '..', 'stunnel.conf')}`], { encoding: 'utf8' })
      .trim()
      .split('\n')[0],
  )
  void proxy

  const drive = async (port: number, args: string[]) => {
    const argv = inNs([process.execPath, join(ROOT, 'test/bench/tunnel-client.mjs'), String(port), ...args])
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    await new Promise((resolve) => child.on('close', resolve))
    return JSON.parse(out) as Record<string, number>
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
  // Rounds alternate between the two tunnels (and which goes first), so a
  // slow spell of this shared machine falls on both alike.
  const newTunnel = (port: number, pid: number) => ({
    port,
    pid,
    mbps: [] as number[],
    p50: [] as number[],
    p99: [] as number[],
    cpu: [] as number[],
  })
  const ourTunnel = newTunnel(proxyPort, proxyPid)
  const theirTunnel = newTunnel(5000, stunnelPid)
  const tunnels = [ourTunnel, theirTunnel]
  const idleRssMb = rssMb(proxyPid)
  for (let i = 0; i < rounds; i++) {
    for (const tunnel of i % 2 === 0 ? tunnels : [...tunnels].reverse()) {
      const before = cpuSeconds(tunnel.pid)
      tunnel.mbps.push((await drive(tunnel.port, ['throughput', String(megabytes)])).mbPerSecond ?? NaN)
      tunnel.cpu.push((cpuSeconds(tunnel.pid) - before) / ((2 * megabytes) / 1024))
      const rpc = await drive(tunnel.port, ['rpc', '2000', '200'])
      tunnel.p50.push(rpc.p50ms ?? NaN)
      tunnel.p99.push(rpc.p99ms ?? NaN)
      await sleep(100)
    }
  }
  const [ours, theirs] = tunnels.map(
    (t): TunnelFigures => ({
      mbPerSecond: median(t.mbps),
      rpcP50ms: median(t.p50),
      rpcP99ms: median(t.p99),
      cpuSecondsPerGiB: median(t.cpu),
      peakRssMb: peakRssMb(t.pid),
      rounds: t.mbps.map((mbps, i) => ({ mbPerSecond: mbps, rpcP50ms: t.p50[i] ?? NaN })),
    }),
  ) as [TunnelFigures, TunnelFigures]
  // Then as with nconnect=16: sixteen streams at once, after the rounds (peak
  // RSS above is from one connection at a time).
  const parallel: Record<string, { mbPerSecond: number; peakRssMb: number }> = {}
  for (const [name, tunnel] of [
    ['proxy', ourTunnel],
    ['stunnel', theirTunnel],
  ] as const) {
    const started = process.hrtime.bigint()
    await Promise.all(Array.from({ length: PARALLEL_STREAMS }, () => drive(tunnel.port, ['throughput', String(megabytes / 2)])))
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    parallel[name] = { mbPerSecond: (PARALLEL_STREAMS * megabytes) / seconds, peakRssMb: peakRssMb(tunnel.pid) }
  }
  return {
    proxy: ours,
    stunnel: theirs,
    proxyIdleRssMb: idleRssMb,
    parallel,
    ratios: {
      'throughput proxy / stunnel': ours.mbPerSecond / theirs.mbPerSecond,
      'RPC p50 proxy / stunnel': ours.rpcP50ms / theirs.rpcP50ms,
      'CPU per GiB proxy / stunnel': ours.cpuSecondsPerGiB / theirs.cpuSecondsPerGiB,
    },
  }
}
