// efs-home doctor: each part a login depends on, checked the way the tools
// use it, one result per check with what to do when it fails.

import { existsSync, readFileSync } from 'node:fs'
import { agentStatus } from '../agent/status.js'
import { type Config, HOME_MOUNT_POINT } from '../config/load.js'
import { onFirstServer } from '../directory/servers.js'
import { resolveEfsHost } from '../efs/host.js'
import { EfsHomeError, oneLine } from '../errors.js'
import { partialCoverageLine } from '../firewall/coverage.js'
import { checkRules, buildRules } from '../firewall/firewall.js'
import { lookupHome } from '../lookup/lookup.js'
import { allTrees, masterMapName, type Tree } from '../lookup/tree.js'
import { readStaticCfgIfPresent } from '../mapgen/static-cfg.js'
import { readEfsCa } from '../proxy/ca.js'
import { bindableByAnyone } from '../util/privileged-port.js'
import { proxyHealth, readState } from '../proxy/state.js'
import { startProblem } from '../proxy/supervision.js'
import { iamIdentity, presentsCertificate, proxyTarget, usesTls } from '../proxy/target.js'
import { efsServersOf, type EfsServer } from '../servers/classify.js'
import { Deadline } from '../util/deadline.js'
import { tcpProbe } from '../util/tcp-probe.js'

export interface CheckResult {
  readonly check: string
  readonly ok: boolean
  readonly detail: string
  /** What to do about a failure. */
  readonly fix?: string
}

const PROBE_MS = 2000

async function ldapChecks(config: Config): Promise<CheckResult[]> {
  const results: CheckResult[] = []
  for (const uri of config.ldap.uri) {
    const one = { ...config.ldap, uri: [uri] }
    try {
      await onFirstServer(one, new Deadline(config.ldap.timeout), (client) =>
        client.search(config.ldap.base, { scope: 'base', attributes: ['1.1'] }),
      )
      results.push({ check: `ldap ${uri.href}`, ok: true, detail: `answers for ${config.ldap.base}` })
    } catch (err) {
      results.push({
        check: `ldap ${uri.href}`,
        ok: false,
        detail: oneLine(err),
        fix: 'check the URI, the server, [ldap] base, bind_dn and the CA; lookups skip to the next URI meanwhile',
      })
    }
  }
  return results
}

/** Where a file system is mounted from, and whether TCP 2049 answers there. */
async function addressChecks(config: Config, server: EfsServer): Promise<CheckResult[]> {
  const check = `efs ${server.name}`
  let host: string
  const results: CheckResult[] = []
  try {
    const resolved = await resolveEfsHost(config, server, new Deadline(config.home.deadline))
    host = resolved.host
    results.push({
      check: `${check} address`,
      ok: true,
      detail: `${host} (${resolved.source}${resolved.notes.length > 0 ? `: ${resolved.notes.join('; ')}` : ''})`,
    })
  } catch (err) {
    return [
      {
        check: `${check} address`,
        ok: false,
        detail: oneLine(err),
        fix: 'set mount_target_ip, fix DNS, or give this host EFS API access (DescribeMountTargets)',
      },
    ]
  }
  const refused = await tcpProbe(host, 2049, PROBE_MS)
  results.push(
    refused === undefined
      ? { check: `${check} tcp 2049`, ok: true, detail: `${host}:2049 accepts connections` }
      : {
          check: `${check} tcp 2049`,
          ok: false,
          detail: `${host}:2049: ${refused}`,
          fix: 'check the mount target security group (TCP 2049 from this host) and routing',
        },
  )
  return results
}

async function efsChecks(config: Config, source: string): Promise<CheckResult[]> {
  const results: CheckResult[] = []
  for (const server of efsServersOf(config, readStaticCfgIfPresent(source))) {
    results.push(...(await addressChecks(config, server)))
    // Whatever the address said: a proxy that keeps failing says why itself.
    if (usesTls(config, server)) results.push(proxyCheck(config, server))
    if (usesTls(config, server)) results.push(...(await clientCertificateCheck(config, server)))
  }
  return results
}

function proxyCheck(config: Config, server: EfsServer): CheckResult {
  const check = `efs ${server.name} tls proxy`
  try {
    const { fsId } = proxyTarget(config, server)
    const log = `${config.proxy.state_dir}/proxy-${fsId}.log`
    const state = readState(config, fsId)
    const open = bindableByAnyone(state?.port ?? config.efs.port_range.first)
    if (open !== undefined)
      return { check, ok: false, detail: open, fix: 'raise net.ipv4.ip_unprivileged_port_start (in /etc/sysctl.d) above the proxy ports' }
    const health = state === undefined ? undefined : proxyHealth(config, fsId, state.port)
    if (state !== undefined && health?.ok === true)
      return { check, ok: true, detail: `up on 127.0.0.1:${state.port}, PID ${state.pid}, ${state.connections.open} open connection(s)` }
    const starting = startProblem(config, fsId)
    if (starting !== undefined)
      return { check, ok: false, detail: starting, fix: `fix the cause (see ${log}); the next lookup starts the proxy again` }
    if (health === undefined) return { check, ok: true, detail: 'not running; the first lookup starts it' }
    return { check, ok: false, detail: health.ok ? '' : health.why, fix: `see ${log}; efs-home proxy stop ${fsId} and look it up again` }
  } catch (err) {
    return { check, ok: false, detail: oneLine(err) }
  }
}

const IAM_FIX =
  "give root credentials the SDK's chain finds: an instance role (IMDSv2), [efs] aws_profile in /root/.aws, or IAM Roles Anywhere's credential_process there (README, IAM)"

/** For IAM and access points: the client certificate the proxy presents, or the credentials it would sign one with. */
async function clientCertificateCheck(config: Config, server: EfsServer): Promise<CheckResult[]> {
  const check = `efs ${server.name} client certificate`
  let target: ReturnType<typeof proxyTarget>
  try {
    target = proxyTarget(config, server)
  } catch {
    return [] // the proxy check says why
  }
  if (!presentsCertificate(target)) return []
  const ap = target.accessPoint === undefined ? '' : `access point ${target.accessPoint}; `
  const client = readState(config, target.fsId)?.client
  const now = Date.now() / 1000
  if (client?.notAfter !== undefined) {
    const who =
      client.accessKeyId === undefined
        ? ''
        : `${iamIdentity({ ...client, accessKeyId: client.accessKeyId, source: client.source ?? 'an unknown source' })}; `
    const left = `certificate valid ${Math.max(0, Math.round((client.notAfter - now) / 60))} more minutes`
    if (client.notAfter <= now)
      return [
        {
          check,
          ok: false,
          detail: `${who}the certificate expired and was not renewed: ${client.renewalError ?? 'unknown cause'}`,
          fix: IAM_FIX,
        },
      ]
    if (client.renewalError !== undefined)
      return [{ check, ok: false, detail: `${who}${left}, but renewing it fails: ${client.renewalError}`, fix: IAM_FIX }]
    return [{ check, ok: true, detail: `${ap}${who}${left}` }]
  }
  if (!target.iam) return [{ check, ok: true, detail: `${ap}the proxy signs it when it starts` }]
  try {
    const { awsCredentials } = await import('../efs/credentials.js')
    const c = await awsCredentials(config.efs.aws_profile, PROBE_MS * 2)
    const expires = c.expiration === undefined ? '' : `, expiring ${c.expiration.toISOString()}`
    return [
      {
        check,
        ok: true,
        detail: `${ap}${iamIdentity(c)}${expires}; the proxy signs with them when it starts`,
      },
    ]
  } catch (err) {
    return [{ check, ok: false, detail: oneLine(err), fix: IAM_FIX }]
  }
}

/** The EFS trust anchor, wherever a TLS mount may need it. */
function caCheck(config: Config): CheckResult[] {
  if (!config.efs.tls && ![...config.servers.values()].some((s) => s.tls === true)) return []
  const check = 'efs ca_file'
  try {
    const ca = readEfsCa(config)
    return [{ check, ok: true, detail: `${config.efs.ca_file}: ${ca.authorities.length} CA certificate(s), e.g. ${ca.authorities[0]}` }]
  } catch (err) {
    return [
      { check, ok: false, detail: oneLine(err), fix: `put the Amazon root CAs (efs-ca.pem from the release) at ${config.efs.ca_file}` },
    ]
  }
}

async function firewallCheck(config: Config, source: string): Promise<CheckResult> {
  try {
    const built = await buildRules(config, source)
    const drift = await checkRules(config, built.sets)
    const unresolved = built.resolutions.filter((r) => r.error !== undefined).map((r) => `${r.name} does not resolve`)
    const partial = built.coverage.filter((c) => c.partial !== undefined).map(partialCoverageLine)
    const scope =
      config.firewall.nfs_scope === 'all' ? 'non-root TCP 2049 refused everywhere' : 'non-root TCP 2049 refused to the EFS addresses'
    if (drift.length === 0 && unresolved.length === 0 && partial.length === 0)
      return { check: 'firewall', ok: true, detail: `chain ${config.firewall.chain} in step (${scope})` }
    return { check: 'firewall', ok: false, detail: [...drift, ...unresolved, ...partial].join('; '), fix: 'efs-home firewall apply' }
  } catch (err) {
    return { check: 'firewall', ok: false, detail: oneLine(err), fix: 'install iptables and run efs-home firewall apply as root' }
  }
}

export async function agentCheck(config: Config): Promise<CheckResult> {
  const check = 'lookup agent'
  if (!config.home.agent) return { check, ok: true, detail: 'off ([home] agent = false): every lookup does the work itself' }
  const where = `127.0.0.1:${config.home.agent_port}`
  const s = await agentStatus(config.home, PROBE_MS)
  if (s.up && s.config !== config.file) {
    return {
      check,
      ok: false,
      detail: `PID ${s.pid} on ${where} serves ${s.config}, not ${config.file}: lookups do the work themselves`,
      fix: 'efs-home agent stop; the next lookup starts one for this config',
    }
  }
  if (s.up) {
    const how = s.resident ? 'resident' : 'started by a lookup'
    return {
      check,
      ok: true,
      detail: `PID ${s.pid} on ${where} (${how}): ${s.answered} lookups answered (${s.answeredThin} for the thin map, ${s.answeredNode} for the Node map), ${s.rssMb} MB resident`,
    }
  }
  if (s.state === 'absent') return { check, ok: true, detail: `not running on ${where}; the next lookup starts it` }
  const fix =
    s.state === 'unsafe'
      ? `make ${config.home.agent_dir} root's own and writable by root only, and keep net.ipv4.ip_unprivileged_port_start above [home] agent_port`
      : 'efs-home agent stop; the next lookup starts a new one'
  return { check, ok: false, detail: `${where}: ${s.problem}`, fix: `${fix} (lookups do the work themselves meanwhile)` }
}

/**
 * The owner rules see only this host's own sockets: packets it forwards for
 * containers or VMs have no owner here and pass. efs-home does not manage
 * FORWARD (refusing 2049 there would also cut guests off their own NFS), so
 * a forwarding host is reported.
 */
export function forwardingCheck(read = (file: string) => readFileSync(file, 'utf8').trim()): CheckResult {
  const check = 'forwarding'
  const on = (['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding'] as const).filter((file) => {
    try {
      return read(file) === '1'
    } catch {
      return false
    }
  })
  if (on.length === 0)
    return { check, ok: true, detail: 'this host forwards no packets: the owner rules cover every process that can reach EFS' }
  return {
    check,
    ok: false,
    detail: `this host forwards packets (${on.join(', ')} = 1): containers or VMs routed through it reach EFS on 2049 unchecked, as the owner rules see only this host's own processes`,
    fix: "turn forwarding off, or refuse TCP 2049 to EFS in FORWARD from the guests' networks yourself",
  }
}

/** The master map snippet of each tree, and what it runs: the thin map (the fast path) or the Node map itself. */
export function autofsChecks(config: Config, dir = '/etc/auto.master.d'): CheckResult[] {
  return allTrees(config).map((tree) => {
    const home = tree.mountPoint === HOME_MOUNT_POINT
    return autofsCheck(`${dir}/${home ? 'home.autofs' : masterMapName(tree)}`, home ? 'autofs' : `autofs ${tree.mountPoint}`)
  })
}

function autofsCheck(snippet: string, check: string): CheckResult {
  const program = /\bprogram:(\S+)/.exec(existsSync(snippet) ? readFileSync(snippet, 'utf8') : '')?.[1]
  if (program === undefined || !/(^|\/)efs-home-map(\.js)?$/.test(program)) {
    return {
      check,
      ok: false,
      detail: `${snippet} does not name efs-home-map`,
      fix: 'install it (efs-home rollout render writes it) and reload autofs',
    }
  }
  let head = ''
  try {
    head = readFileSync(program, 'utf8').slice(0, 200)
  } catch (err) {
    return { check, ok: false, detail: `${snippet} runs ${program}: ${oneLine(err)}`, fix: 'install efs-home (or the rollout) again' }
  }
  if (head.startsWith('#!/bin/bash') && head.includes('efs-home-map KEY: the thin program map of efs-home'))
    return { check, ok: true, detail: `${snippet} runs ${program}, the thin map (the fast path)` }
  return {
    check,
    ok: true,
    detail: `${snippet} runs ${program}, the Node map: every lookup starts Node; link it to the package's maps/efs-home-map for the fast path`,
  }
}

/** A user's lookup in one tree; in a tree besides /home, a user without a location there is fine. */
async function lookupCheck(config: Config, tree: Tree, user: string): Promise<CheckResult> {
  const home = tree.mountPoint === HOME_MOUNT_POINT
  const check = home ? `lookup ${user}` : `lookup ${user} in ${tree.mountPoint}`
  try {
    return { check, ok: true, detail: (await lookupHome(config, user, { tree })).text }
  } catch (err) {
    if (err instanceof EfsHomeError && err.code === 'ABSENT') return { check, ok: true, detail: `no entry: ${oneLine(err)}` }
    const how = home ? '' : ` --tree ${tree.mountPoint}`
    return { check, ok: false, detail: oneLine(err), fix: `efs-home lookup${how} ${user} explains each step` }
  }
}

export async function runChecks(config: Config, options: { user?: string; source: string }): Promise<CheckResult[]> {
  const results: CheckResult[] = [{ check: 'config', ok: true, detail: config.file }]
  results.push(...(await ldapChecks(config)))
  results.push(...caCheck(config))
  results.push(...(await efsChecks(config, options.source)))
  results.push(await firewallCheck(config, options.source))
  results.push(forwardingCheck())
  results.push(...autofsChecks(config))
  results.push(await agentCheck(config))
  if (options.user !== undefined) for (const tree of allTrees(config)) results.push(await lookupCheck(config, tree, options.user))
  return results
}
