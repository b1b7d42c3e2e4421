// node tunnel-client.mjs PORT throughput MEGABYTES | rpc COUNT SIZE
// Drives an echo server through a tunnel on 127.0.0.1:PORT and prints JSON.
import { connect } from 'node:net'

const [portText, mode, a, b] = process.argv.slice(2)
const socket = connect({ port: Number(portText), host: '127.0.0.1', noDelay: true })
await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))

if (mode === 'throughput') {
  const total = Number(a) << 20
  const chunk = Buffer.alloc(64 << 10, 7)
  let received = 0
  const started = process.hrtime.bigint()
  const done = new Promise((resolve) =>
    socket.on('data', (d) => {
      received += d.length
      if (received >= total) resolve()
    }),
  )
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r))
  }
  await done
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  process.stdout.write(`${JSON.stringify({ seconds, mbPerSecond: (2 * total) / (1 << 20) / seconds })}\n`)
} else {
  const count = Number(a)
  const message = Buffer.alloc(Number(b), 1)
  const latencies = []
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint()
    let got = 0
    await new Promise((resolve) => {
      const onData = (d) => {
        got += d.length
        if (got >= message.length) {
          socket.off('data', onData)
          resolve()
        }
      }
      socket.on('data', onData)
      socket.write(message)
    })
    latencies.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  latencies.sort((x, y) => x - y)
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
  process.stdout.write(`${JSON.stringify({ p50ms: at(0.5), p99ms: at(0.99) })}\n`)
}
socket.destroy()
