// node first-byte.mjs N PORT_A PORT_B: N times, taking turns, a new TCP
// connection to each port, one NFS NULL call, and the time (ms) until the
// first byte of the reply; prints [[A times], [B times]] as JSON.
import { createConnection } from 'node:net'

const [n, a, b] = process.argv.slice(2).map(Number)
const once = (port) =>
  new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const s = createConnection(port, '127.0.0.1', () => {
      const call = Buffer.alloc(44)
      for (const [i, w] of [0x80000028, 1, 0, 2, 100003, 4, 0, 0, 0, 0, 0].entries()) call.writeUInt32BE(w >>> 0, i * 4)
      s.write(call)
    })
    s.once('data', () => {
      resolve(Number(process.hrtime.bigint() - started) / 1e6)
      s.destroy()
    })
    s.once('error', reject)
    s.once('close', () => reject(new Error(`port ${port}: closed before a reply`)))
  })
const times = [[], []]
// Warm-up: the first sessions pay for code the rest do not.
for (let i = 0; i < 5; i++) await Promise.all([once(a), once(b)])
for (let i = 0; i < n; i++) {
  times[0].push(await once(a))
  times[1].push(await once(b))
}
process.stdout.write(`${JSON.stringify(times)}\n`)
