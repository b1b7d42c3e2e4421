// Does host:port accept a TCP connection within `ms`? undefined when it
// does, else why not: for mount target checks and `efs-home doctor`.

import { connect } from 'node:net'
import { oneLine } from '../errors.js'

export function tcpProbe(host: string, port: number, ms: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: ms })
    const done = (why: string | undefined) => {
      socket.destroy()
      resolve(why)
    }
    socket.once('connect', () => done(undefined))
    socket.once('timeout', () => done(`no answer within ${(ms / 1000).toFixed(1)} s`))
    socket.once('error', (err) => done(oneLine(err)))
  })
}
