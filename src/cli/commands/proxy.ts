// efs-home proxy run | supervise | ensure | status | stop

import { readdirSync, rmSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Config, loadConfig } from '../../config/load.js'
import { oneLine } from '../../errors.js'
import { assignPort } from '../../proxy/ports.js'
import { isProxyProcess, proxyHealth, readState, statePath } from '../../proxy/state.js'
import { efsServerById, proxyTarget } from '../../proxy/target.js'
import { runTunnel } from '../../proxy/tunnel.js'
import { Deadline } from '../../util/deadline.js'
import { resolveEfsHost } from '../../efs/host.js'
import type { Output } from '../output.js'

const stamp = (line: string) => `${new Date().toISOString()} ${line}`

// How long the proxy may take at start to find its mount target (DNS, or the EFS API).
const RESOLVE_SECONDS = 30

async function run(config: Config, fsId: string, out: Output): Promise<number> {
  const server = efsServerById(config, fsId)
  const resolved = await resolveEfsHost(config, server, new Deadline(RESOLVE_SECONDS))
  const port = await assignPort(config, fsId, 10_000)
  const tunnel = await runTunnel(config, proxyTarget(server), resolved.host, port, (line) => out.err(stamp(line)))
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  await tunnel.close()
  rmSync(statePath(config, fsId), { force: true })
  out.err(stamp('stopped'))
  return 0
}

async function stop(config: Config, fsId: string, out: Output): Promise<number> {
  const state = readState(config, fsId)
  if (state === undefined) {
    out.out(`${fsId}: not running`)
    return 0
  }
  // The supervisor first, so it does not start the proxy again.
  for (const pid of [state.supervisorPid, state.pid]) {
    if (pid !== undefined && isProxyProcess(pid, fsId)) process.kill(pid, 'SIGTERM')
  }
  for (let i = 0; i < 100 && [state.supervisorPid, state.pid].some((p) => p !== undefined && isProxyProcess(p, fsId)); i++) await sleep(50)
  rmSync(statePath(config, fsId), { force: true })
  out.out(`${fsId}: stopped (PID ${state.pid})`)
  return 0
}

function status(config: Config, json: boolean, out: Output): number {
  let files: string[] = []
  try {
    files = readdirSync(config.proxy.state_dir).filter((f) => /^proxy-fs-[0-9a-f]+\.json$/.test(f))
  } catch {
    // no proxies have run
  }
  const now = Math.floor(Date.now() / 1000)
  const rows = files.flatMap((f) => {
    const fsId = f.slice('proxy-'.length, -'.json'.length)
    const state = readState(config, fsId)
    if (state === undefined) return []
    const health = proxyHealth(config, fsId, state.port)
    return [{ ...state, up: health.ok, problem: health.ok ? undefined : health.why, uptime: now - state.started }]
  })
  if (json) {
    out.out(JSON.stringify(rows, null, 2))
  } else if (rows.length === 0) {
    out.out('no TLS proxies')
  } else {
    for (const r of rows) {
      out.out(
        `${r.fsId} port ${r.port} pid ${r.pid} -> ${r.target}: ${r.up ? `up ${r.uptime} s` : `DOWN (${r.problem})`}, ` +
          `${r.connections.open} open / ${r.connections.total} connections, ${r.bytes.toEfs} bytes to EFS, ${r.bytes.fromEfs} from EFS`,
      )
    }
  }
  return rows.every((r) => r.up) ? 0 : 1
}

export type ProxyAction = 'run' | 'supervise' | 'ensure' | 'status' | 'stop'

export async function proxyCommand(action: ProxyAction, fsId: string | undefined, json: boolean, out: Output): Promise<number> {
  try {
    const config = loadConfig()
    if (action === 'status') return status(config, json, out)
    if (fsId === undefined) throw new Error(`proxy ${action} needs a file system id`)
    if (action === 'run') return await run(config, fsId, out)
    if (action === 'stop') return await stop(config, fsId, out)
    // The proxy and its supervisor run for months: each loads only what it uses.
    if (action === 'supervise') {
      const { PROXY_NODE_FLAGS, supervise } = await import('../../proxy/supervisor.js')
      await supervise({ command: process.execPath, args: [...PROXY_NODE_FLAGS, process.argv[1] ?? 'efs-home', 'proxy', 'run', '--fs', fsId], log: (line) => out.err(stamp(line)) })
      return 0
    }
    const { ensureProxy } = await import('../../proxy/ensure.js')
    out.out(String(await ensureProxy(config, efsServerById(config, fsId), new Deadline(config.home.deadline))))
    return 0
  } catch (err) {
    out.err(`efs-home: proxy ${action}: ${oneLine(err)}`)
    return 1
  }
}
