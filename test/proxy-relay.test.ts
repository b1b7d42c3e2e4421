// The proxy's byte mover, on real sockets and streams: every byte arrives,
// in order, both ways at once, with readers that keep stalling; bulk is
// gathered per event-loop turn, a short message is not.

import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import { setImmediate as turn } from 'node:timers/promises'
import { relay } from '../src/proxy/relay.js'
import type { Owner } from './fixtures/scratch.js'

/** A connected pair of TCP sockets on loopback: [the connecting end, the accepted end]. */
async function socketPair(t: Owner): Promise<[Socket, Socket]> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve))
  const near = connect((server.address() as { port: number }).port, '127.0.0.1')
  const far = await accepted
  server.close()
  t.teardown(() => {
    near.destroy()
    far.destroy()
  })
  return [near, far]
}

/** Reads `expected` bytes from `socket`, stopping for a moment now and then; resolves to the sha256 of what came. */
function slowReader(socket: Socket, expected: number): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256')
  let bytes = 0
  let chunks = 0
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk)
    bytes += chunk.length
    if (++chunks % 8 === 0) {
      socket.pause()
      setTimeout(() => socket.resume(), 2)
    }
  })
  return new Promise((resolve, reject) => {
    socket.on('data', () => bytes >= expected && resolve({ bytes, sha256: hash.digest('hex') }))
    socket.once('close', () => reject(new Error(`closed after ${bytes} of ${expected} bytes`)))
  })
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

t.test('both ways at once through two relays, readers that stall: every byte, in order, and the sender held back', async (t) => {
  // user <-> [client, upstream] <-> server, as in the proxy: client is the
  // accepted socket, upstream the one the proxy opened.
  const [user, client] = await socketPair(t)
  const [upstream, server] = await socketPair(t)
  let pauses = 0
  client.on('pause', () => pauses++)
  upstream.on('pause', () => pauses++)
  let moved = 0
  const count = (n: number) => (moved += n)
  relay(client, upstream, { coalesce: false, moved: count })
  relay(upstream, client, { coalesce: true, moved: count })

  const up = randomBytes(24 << 20)
  const down = randomBytes(24 << 20)
  // NFS clients never half-close; each end keeps its socket open until it has had everything.
  const atServer = slowReader(server, up.length)
  const atUser = slowReader(user, down.length)
  // Odd sizes, so chunks straddle every boundary the relays might care about.
  const send = async (socket: Socket, data: Buffer) => {
    for (let at = 0; at < data.length; at += 40_000) {
      if (!socket.write(data.subarray(at, at + 40_000))) await new Promise((resolve) => socket.once('drain', resolve))
    }
  }
  await Promise.all([send(user, up), send(server, down)])
  const [gotUp, gotDown] = await Promise.all([atServer, atUser])
  t.same(gotUp, { bytes: up.length, sha256: sha256(up) }, 'user -> server: every byte, in order')
  t.same(gotDown, { bytes: down.length, sha256: sha256(down) }, 'server -> user: every byte, in order')
  t.equal(moved, up.length + down.length, 'every chunk counted')
  t.ok(pauses > 0, `a full receiver paused the sending side (${pauses} times)`)
  const closed = new Promise((resolve) => upstream.once('close', resolve))
  user.end()
  await closed
  t.pass("the user's end of the connection reaches the far side")
})

t.test('bulk is gathered for the rest of the turn; a short message goes out at once', async (t) => {
  const from = new PassThrough()
  const to = new PassThrough()
  relay(from, to, { coalesce: true, moved: () => undefined })

  from.write(Buffer.alloc(200, 1))
  t.equal(to.writableCorked, 0, 'a short message is not held')
  t.equal(to.readableLength, 200, 'it is passed on in the same turn')
  to.read()

  from.write(Buffer.alloc(16 * 1024, 2))
  from.write(Buffer.alloc(16 * 1024, 3))
  from.write(Buffer.alloc(300, 4))
  t.equal(to.writableCorked, 1, 'a full TLS record: the rest of the turn is gathered')
  t.equal(to.readableLength, 0, 'nothing passed on yet')
  await turn()
  t.equal(to.writableCorked, 0, 'released after the turn')
  const chunks: Buffer[] = []
  const expected = 32 * 1024 + 300
  await new Promise<void>((resolve) =>
    to.on('data', (chunk: Buffer) => chunks.push(chunk) && Buffer.concat(chunks).length >= expected && resolve()),
  )
  const out = Buffer.concat(chunks)
  t.same([out.length, out[0], out[16 * 1024], out[32 * 1024]], [32 * 1024 + 300, 2, 3, 4], 'all of it, in order')

  const plain = new PassThrough()
  const sink = new PassThrough()
  relay(plain, sink, { coalesce: false, moved: () => undefined })
  plain.write(Buffer.alloc(16 * 1024))
  t.equal(sink.readableLength, 16 * 1024, 'without coalescing, bulk goes out at once too')

  from.end()
  await new Promise((resolve) => to.once('finish', resolve))
  t.pass('the end of the source ends the destination')
})
