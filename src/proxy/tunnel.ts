// The TLS proxy itself: 127.0.0.1:<port> in, TLS 1.2+ to the mount target on
// 2049 out, the certificate verified against [efs] ca_file and the name
// <fs_id>.efs.<region>.<suffix>. Never plaintext: there is no code path that
// connects to EFS without TLS.

import { createServer, type Server, type Socket } from 'node:net'
import { checkServerIdentity, connect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import type { Config } from '../config/load.js'
import { EfsHomeError, oneLine } from '../errors.js'
import { type ProxyState, writeState } from './state.js'
import type { ProxyTarget } from './target.js'
import { readEfsCa } from './ca.js'
import { ownIdentity } from '../util/process-identity.js'
import { bufferReclaimer } from './buffer-reclaim.js'
import { relay } from './relay.js'

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

/** Listens on 127.0.0.1:`port`; each connection goes over TLS to `host` (the mount target). */
export async function runTunnel(config: Config, target: ProxyTarget, host: string, port: number, log: (line: string) => void): Promise<Tunnel> {
  const ca = readEfsCa(config).pem
  const counters: Counters = { open: 0, total: 0, toEfs: 0, fromEfs: 0 }
  const live = new Set<Socket>()
  const moved = bufferReclaimer(() => counters.open)
  const started = Math.floor(Date.now() / 1000)
  const self = ownIdentity()
  const supervisor = Number(process.env.EFS_HOME_SUPERVISOR_PID)
  const state = (): ProxyState => ({
    fsId: target.fsId,
    port,
    pid: process.pid,
    startTime: self.startTime,
    supervisorPid: Number.isInteger(supervisor) && supervisor > 0 ? supervisor : undefined,
    target: `${host}:${target.port}`,
    started,
    connections: { open: counters.open, total: counters.total },
    bytes: { toEfs: counters.toEfs, fromEfs: counters.fromEfs },
  })

  const server = createServer({ noDelay: true, pauseOnConnect: true, highWaterMark: SOCKET_BUFFER_BYTES }, (client) => {
    const id = ++counters.total
    counters.open += 1
    live.add(client)
    // Node hands highWaterMark on to the TLSSocket; @types/node does not list it.
    const options: ConnectionOptions & { highWaterMark: number } = {
      host: host,
      port: target.port,
      servername: target.serverName,
      ca,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      highWaterMark: SOCKET_BUFFER_BYTES,
      checkServerIdentity: (_host, cert) => checkServerIdentity(target.serverName, cert),
    }
    const upstream: TLSSocket = connect(options)
    upstream.setNoDelay(true)
    live.add(upstream)
    let why = 'closed'
    const timer = setTimeout(() => upstream.destroy(new Error(`no TLS session within ${config.proxy.connect_timeout} s`)), config.proxy.connect_timeout * 1000)
    upstream.once('secureConnect', () => {
      clearTimeout(timer)
      if (config.proxy.log_connections) log(`conn ${id}: open to ${host}:${target.port} (${upstream.getProtocol() ?? 'TLS'})`)
      // The client stays paused until the TLS session is up.
      relay(client, upstream, { coalesce: false, moved })
      relay(upstream, client, { coalesce: true, moved })
      client.resume()
    })
    const fail = (side: string) => (err: NodeJS.ErrnoException) => {
      // A client that resets instead of closing (libnfs does) is an ordinary end.
      why = side === 'client' && err.code === 'ECONNRESET' ? 'client reset' : `${side}: ${oneLine(err)}`
      client.destroy()
      upstream.destroy()
    }
    client.on('error', fail('client'))
    upstream.on('error', fail(`TLS to ${host}:${target.port}`))
    let closed = 0
    const onClose = () => {
      if (++closed < 2) {
        client.destroy()
        upstream.destroy()
        return
      }
      clearTimeout(timer)
      live.delete(client)
      live.delete(upstream)
      counters.open -= 1
      counters.toEfs += client.bytesRead
      counters.fromEfs += client.bytesWritten
      if (config.proxy.log_connections || !['closed', 'client reset'].includes(why)) {
        log(`conn ${id}: ${why}, ${client.bytesRead} bytes to EFS, ${client.bytesWritten} from EFS`)
      }
    }
    client.on('close', onClose)
    upstream.on('close', onClose)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new EfsHomeError('PROXY', `cannot listen on 127.0.0.1:${port}: ${oneLine(err)}`)))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, resolve)
  })
  writeState(config, state())
  log(`listening on 127.0.0.1:${port} for ${target.fsId}, TLS to ${host}:${target.port} as ${target.serverName}`)
  let last = ''
  const refresh = setInterval(() => {
    const now = JSON.stringify(state())
    if (now !== last) writeState(config, state())
    last = now
  }, 2000)
  refresh.unref()
  return {
    server,
    close: async () => {
      clearInterval(refresh)
      for (const s of live) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
