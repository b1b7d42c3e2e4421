// efs-home proxy run | supervise | ensure | status | stop | certificate

import { readdirSync } from 'node:fs'
import { type Config, loadConfig } from '../../config/load.js'
import { EfsHomeError } from '../../errors.js'
import { proxyHealth, readState } from '../../proxy/state.js'
import { startProblem } from '../../proxy/supervision.js'
import { efsServerById, iamIdentity, presentsCertificate, proxyTarget } from '../../proxy/target.js'
import { Deadline } from '../../util/deadline.js'
import { EXIT } from '../exit.js'
import type { Output } from '../output.js'
import { serviceLog } from '../../util/service-log.js'

function status(config: Config, json: boolean, out: Output): number {
  let files: string[] = []
  try {
    files = readdirSync(config.proxy.state_dir)
  } catch {
    // no proxies have run
  }
  // Every file system with a state file or a supervisor record: a proxy that never started has only the latter.
  const fsIds = [...new Set(files.flatMap((f) => /^proxy-(fs-[0-9a-f]+)(?:\.supervisor)?\.json$/.exec(f)?.[1] ?? []))].sort()
  const now = Math.floor(Date.now() / 1000)
  const rows = fsIds.map((fsId) => {
    const state = readState(config, fsId)
    const health = state === undefined ? undefined : proxyHealth(config, fsId, state.port)
    const starting = startProblem(config, fsId)
    const problem = health?.ok === true ? undefined : (starting ?? (health?.ok === false ? health.why : 'not running'))
    return { fsId, ...state, up: health?.ok === true, problem, uptime: state === undefined ? undefined : now - state.started }
  })
  if (json) {
    out.out(JSON.stringify(rows, null, 2))
  } else if (rows.length === 0) {
    out.out('no TLS proxies')
  } else {
    for (const r of rows) {
      if (r.port === undefined || r.connections === undefined || r.bytes === undefined) {
        out.out(`${r.fsId}: DOWN (${r.problem})`)
        continue
      }
      const where = `${r.fsId} port ${r.port} pid ${r.pid} -> ${r.target}`
      const health = r.up ? `up ${r.uptime} s` : `DOWN (${r.problem})`
      const connections = `${r.connections.open} open / ${r.connections.total} connections`
      const traffic = `${r.bytes.toEfs} bytes to EFS, ${r.bytes.fromEfs} from EFS`
      out.out(`${where}: ${health}, ${connections}, ${traffic}`)
    }
  }
  return rows.every((r) => r.up) ? EXIT.ok : EXIT.no
}

/** Signs a client certificate as the proxy would and shows what it carries, or prints it (--pem) for openssl. */
async function certificate(config: Config, fsId: string, options: { json: boolean; pem: boolean }, out: Output): Promise<number> {
  const target = proxyTarget(config, efsServerById(config, fsId))
  if (!presentsCertificate(target))
    throw new EfsHomeError(
      'CONFIG',
      `${fsId} presents no client certificate: set iam = true or access_point in its [server] section, or [efs] iam = true`,
    )
  const { signClientCertificate } = await import('../../proxy/client-identity.js')
  const { cert, credentials, now } = await signClientCertificate(config, target, (line) => out.err(line))
  if (options.pem) {
    out.out(cert.pem.trimEnd())
    return EXIT.ok
  }
  const shown = {
    fsId,
    accessPoint: target.accessPoint ?? null,
    iam:
      credentials === undefined
        ? null
        : {
            accessKeyId: credentials.accessKeyId,
            source: credentials.source,
            accountId: credentials.accountId ?? null,
            sessionToken: credentials.sessionToken !== undefined,
            expires: credentials.expiration?.toISOString() ?? null,
          },
    signed: now.toISOString(),
    notAfter: cert.notAfter.toISOString(),
  }
  if (options.json) out.out(JSON.stringify(shown, null, 2))
  else {
    out.out(`${fsId}: client certificate signed ${shown.signed}, valid until ${shown.notAfter}`)
    if (target.accessPoint !== undefined) out.out(`  access point ${target.accessPoint}`)
    if (credentials !== undefined)
      out.out(
        `  ${iamIdentity(credentials)}${credentials.sessionToken === undefined ? '' : ', with a session token'}${credentials.expiration === undefined ? '' : `, credentials expire ${credentials.expiration.toISOString()}`}`,
      )
  }
  return EXIT.ok
}

export type ProxyAction = 'run' | 'supervise' | 'ensure' | 'status' | 'stop' | 'certificate'

export async function proxyCommand(
  action: ProxyAction,
  fsId: string | undefined,
  options: { json: boolean; pem: boolean },
  out: Output,
): Promise<number> {
  const { json } = options
  const config = loadConfig()
  if (action === 'status') return status(config, json, out)
  if (fsId === undefined) throw new EfsHomeError('CONFIG', `proxy ${action} needs a file system id (efs-home proxy ${action} fs-…)`)
  if (action === 'certificate') return certificate(config, fsId, options, out)
  // The proxy and its supervisor run for months: each loads only what it uses.
  const lifecycle = await import('../../proxy/lifecycle.js')
  const log = serviceLog(`efs-home-proxy@${fsId}`, (text) => out.err(text))
  if (action === 'run') {
    await lifecycle.runProxy(config, fsId, log)
    return EXIT.ok
  }
  if (action === 'stop') {
    const pid = await lifecycle.stopProxy(config, fsId)
    out.out(pid === undefined ? `${fsId}: not running` : `${fsId}: stopped (PID ${pid})`)
    return EXIT.ok
  }
  if (action === 'supervise') {
    await lifecycle.superviseProxy(config, fsId, log)
    return EXIT.ok
  }
  const { ensureProxy } = await import('../../proxy/ensure.js')
  out.out(String(await ensureProxy(config, efsServerById(config, fsId), new Deadline(config.home.deadline))))
  return EXIT.ok
}
