// One NFS NULL call through a fresh TLS session to the mount target: does
// EFS accept this proxy's client certificate? EFS checks IAM and the access
// point when a session opens; a refused certificate ends the session before
// any NFS reply, and a first lookup should say so rather than hand automount
// a mount that hangs. Unreachable is not refused: a hard mount waits for EFS
// to come back, so only a session that opened and then ended counts.

import type { TLSSocket } from 'node:tls'

export type ProbeResult =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'refused'; readonly why: string }
  | { readonly kind: 'unreachable'; readonly why: string }

const NFS_PROGRAM = 100003
const NFS_VERSION = 4

/** RPC over TCP: a record mark, then CALL xid, rpcvers 2, NFS v4 procedure 0 (NULL), AUTH_NONE credential and verifier. */
function nullCall(xid: number): Buffer {
  const words = [0x80000000 | 40, xid, 0, 2, NFS_PROGRAM, NFS_VERSION, 0, 0, 0, 0, 0]
  const call = Buffer.alloc(words.length * 4)
  for (const [i, w] of words.entries()) call.writeUInt32BE(w >>> 0, i * 4)
  return call
}

/** Whether `reply` (record mark first) is an accepted, successful reply to `xid`; undefined while it is incomplete. */
function replyOk(reply: Buffer, xid: number): boolean | undefined {
  // mark, xid, REPLY, MSG_ACCEPTED, verifier flavour and length, accept_stat
  if (reply.length < 28) return undefined
  const verifierLength = reply.readUInt32BE(20)
  if (reply.length < 28 + verifierLength) return undefined
  return (
    reply.readUInt32BE(4) === xid &&
    reply.readUInt32BE(8) === 1 &&
    reply.readUInt32BE(12) === 0 &&
    reply.readUInt32BE(24 + verifierLength) === 0
  )
}

export function probeNfs(upstream: TLSSocket, timeoutMs: number): Promise<ProbeResult> {
  const xid = Math.floor(Math.random() * 0x7fffffff)
  return new Promise((resolve) => {
    let opened = false
    let reply = Buffer.alloc(0)
    const done = (result: ProbeResult) => {
      clearTimeout(timer)
      upstream.removeAllListeners('data')
      upstream.destroy()
      resolve(result)
    }
    const timer = setTimeout(
      () => done({ kind: 'unreachable', why: `no NFS reply within ${timeoutMs / 1000} s${opened ? ' after the TLS session opened' : ''}` }),
      timeoutMs,
    )
    upstream.once('secureConnect', () => {
      opened = true
      upstream.write(nullCall(xid))
    })
    upstream.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]).subarray(0, 4096)
      const ok = replyOk(reply, xid)
      if (ok === true) done({ kind: 'accepted' })
      else if (ok === false) done({ kind: 'refused', why: 'EFS answered the NFS NULL call with an error' })
    })
    const ended = (err?: Error) =>
      done(
        opened
          ? { kind: 'refused', why: `EFS ended the TLS session before any NFS reply${err === undefined ? '' : ` (${err.message})`}` }
          : { kind: err?.message.includes('alert') === true ? 'refused' : 'unreachable', why: err?.message ?? 'closed' },
      )
    upstream.once('error', ended)
    upstream.once('close', () => ended())
  })
}
