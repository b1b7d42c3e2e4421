// The TLS proxy itself: 127.0.0.1:<port> in, TLS 1.2+ to the mount target on
// 2049 out, the certificate verified against [efs] ca_file and the name
// <fs_id>.efs.<region>.<suffix>. Never plaintext: there is no code path that
// connects to EFS without TLS.

import { createServer, type Server, type Socket } from 'node:net'
import { checkServerIdentity, connect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import type { Config } from '../config/load.js'
import { EfsHomeError, oneLine } from '../errors.js'
import { type ProxyState, writeState } from './state.js'
import { presentsCertificate, type ProxyTarget } from './target.js'
import { readEfsCa } from './ca.js'
import { ownIdentity } from '../util/process-identity.js'
import { bufferReclaimer } from './buffer-reclaim.js'
import { relay } from './relay.js'
import { ClientIdentity } from './client-identity.js'
import { probeNfs } from './nfs-probe.js'
import type { ServiceLog } from '../util/service-log.js'

export interface Tunnel {
  readonly server: Server
  close(): Promise<void>
}

// How much either direction may hold for a socket that is not taking data
// before the other side is paused: four times Node's 16 KiB, so a bulk
// transfer is not paused and resumed (two epoll_ctl calls) for every read.
const SOCKET_BUFFER_BYTES = 64 * 1024

interface Counters {
  open: number
  total: number
  toEfs: number
  fromEfs: number
}

/** One proxy: its listener, its connections and counters, and the state file it keeps. */
class TlsTunnel implements Tunnel {
  readonly server: Server
  private readonly ca: Buffer
  private readonly counters: Counters = { open: 0, total: 0, toEfs: 0, fromEfs: 0 }
  private readonly live = new Set<Socket>()
  /** The local side of each open connection: its bytes count as they flow (a mount keeps one connection for its life). */
  private readonly clients = new Set<Socket>()
  private readonly moved = bufferReclaimer(() => this.counters.open)
  private readonly started = Math.floor(Date.now() / 1000)
  private readonly self = ownIdentity()
  private refresh: NodeJS.Timeout | undefined
  /** The client certificate, for file systems with IAM or an access point. */
  private client: ClientIdentity | undefined

  constructor(
    private readonly config: Config,
    private readonly target: ProxyTarget,
    private readonly host: string,
    private readonly port: number,
    private readonly log: ServiceLog,
  ) {
    this.ca = readEfsCa(config).pem
    this.server = createServer({ noDelay: true, pauseOnConnect: true, highWaterMark: SOCKET_BUFFER_BYTES }, (client) =>
      this.onConnection(client),
    )
  }

  async listen(): Promise<void> {
    if (presentsCertificate(this.target)) await this.presentCertificate()
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err) => reject(new EfsHomeError('PROXY', `cannot listen on 127.0.0.1:${this.port}: ${oneLine(err)}`)))
      this.server.listen({ port: this.port, host: '127.0.0.1', exclusive: true }, resolve)
    })
    writeState(this.config, this.state())
    this.log(
      `listening on 127.0.0.1:${this.port} for ${this.target.fsId}, TLS to ${this.host}:${this.target.port} as ${this.target.serverName}`,
    )
    let last = ''
    this.refresh = setInterval(() => {
      const state = this.state()
      const now = JSON.stringify(state)
      if (now !== last) writeState(this.config, state)
      last = now
    }, 2000)
    this.refresh.unref()
  }

  /** The first client certificate, and EFS's word on it: a proxy EFS refuses must not start. */
  private async presentCertificate(): Promise<void> {
    this.client = await ClientIdentity.create(this.config, this.target, this.ca, this.log)
    const probe = await probeNfs(this.connectUpstream(), this.config.proxy.connect_timeout * 1000)
    const what = [this.target.iam ? 'IAM' : undefined, this.target.accessPoint].filter((w) => w !== undefined).join(' and ')
    if (probe.kind === 'refused') {
      this.client.stop()
      throw new EfsHomeError(
        'IAM',
        `access denied: EFS refused this host's client certificate (${what}): ${probe.why}; check the file system policy, the host's IAM permissions (elasticfilesystem:ClientMount), the access point, and this host's clock (now ${new Date().toISOString()}: a signature made more than a few minutes off is refused)`,
      )
    }
    if (probe.kind === 'unreachable') this.log(`could not ask EFS about the client certificate yet: ${probe.why}`, 'warning')
  }

  async close(): Promise<void> {
    this.client?.stop()
    clearInterval(this.refresh)
    for (const s of this.live) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private state(): ProxyState {
    const supervisor = Number(process.env.EFS_HOME_SUPERVISOR_PID)
    const { open, total } = this.counters
    let { toEfs, fromEfs } = this.counters
    for (const client of this.clients) {
      toEfs += client.bytesRead
      fromEfs += client.bytesWritten
    }
    return {
      fsId: this.target.fsId,
      port: this.port,
      pid: process.pid,
      startTime: this.self.startTime,
      supervisorPid: Number.isInteger(supervisor) && supervisor > 0 ? supervisor : undefined,
      target: `${this.host}:${this.target.port}`,
      started: this.started,
      connections: { open, total },
      bytes: { toEfs, fromEfs },
      ...(this.client === undefined ? {} : { client: this.client.status() }),
    }
  }

  /** TLS to the mount target: verified against the EFS CA and the file system's name, never plaintext. */
  private connectUpstream(): TLSSocket {
    const { serverName } = this.target
    // Node hands highWaterMark on to the TLSSocket; @types/node does not list it.
    const options: ConnectionOptions & { highWaterMark: number } = {
      host: this.host,
      port: this.target.port,
      servername: serverName,
      // The newest client certificate for each new connection; the context carries the CA then.
      ...(this.client === undefined ? { ca: this.ca, minVersion: 'TLSv1.2' } : { secureContext: this.client.secureContext() }),
      rejectUnauthorized: true,
      highWaterMark: SOCKET_BUFFER_BYTES,
      checkServerIdentity: (_host, cert) => checkServerIdentity(serverName, cert),
    }
    const upstream = connect(options)
    upstream.setNoDelay(true)
    return upstream
  }

  private onConnection(client: Socket): void {
    const id = ++this.counters.total
    this.counters.open += 1
    const upstream = this.connectUpstream()
    this.live.add(client).add(upstream)
    this.clients.add(client)
    const where = `${this.host}:${this.target.port}`
    let why = 'closed'
    const seconds = this.config.proxy.connect_timeout
    const timer = setTimeout(() => upstream.destroy(new Error(`no TLS session within ${seconds} s`)), seconds * 1000)
    upstream.once('secureConnect', () => {
      clearTimeout(timer)
      if (this.config.proxy.log_connections) this.log(`conn ${id}: open to ${where} (${upstream.getProtocol() ?? 'TLS'})`)
      // The client stays paused until the TLS session is up.
      relay(client, upstream, { coalesce: false, moved: this.moved })
      relay(upstream, client, { coalesce: true, moved: this.moved })
      client.resume()
    })
    const fail = (side: string) => (err: NodeJS.ErrnoException) => {
      // A client that resets instead of closing (libnfs does) is an ordinary end.
      why = side === 'client' && err.code === 'ECONNRESET' ? 'client reset' : `${side}: ${oneLine(err)}`
      client.destroy()
      upstream.destroy()
    }
    client.on('error', fail('client'))
    upstream.on('error', fail(`TLS to ${where}`))
    let closed = 0
    const onClose = () => {
      // The first side to close takes the other down; the second close ends the connection.
      if (++closed < 2) {
        client.destroy()
        upstream.destroy()
        return
      }
      clearTimeout(timer)
      this.onClosed(id, client, upstream, why)
    }
    client.on('close', onClose)
    upstream.on('close', onClose)
  }

  private onClosed(id: number, client: Socket, upstream: TLSSocket, why: string): void {
    this.live.delete(client)
    this.live.delete(upstream)
    this.clients.delete(client)
    this.counters.open -= 1
    this.counters.toEfs += client.bytesRead
    this.counters.fromEfs += client.bytesWritten
    if (this.config.proxy.log_connections || !['closed', 'client reset'].includes(why)) {
      this.log(
        `conn ${id}: ${why}, ${client.bytesRead} bytes to EFS, ${client.bytesWritten} from EFS`,
        ['closed', 'client reset'].includes(why) ? 'info' : 'warning',
      )
    }
  }
}

/** Listens on 127.0.0.1:`port`; each connection goes over TLS to `host` (the mount target). */
export async function runTunnel(config: Config, target: ProxyTarget, host: string, port: number, log: ServiceLog): Promise<Tunnel> {
  const tunnel = new TlsTunnel(config, target, host, port, log)
  await tunnel.listen()
  return tunnel
}
