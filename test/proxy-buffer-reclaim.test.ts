// The proxy's buffer reclaimer, in a process of its own (so no other test's
// garbage is counted): dead read buffers do not pile up, with one connection
// open (young collections) or many (full collections).

import t from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { bufferReclaimer } from '../src/proxy/buffer-reclaim.js'

/** As sockets do: 256 MiB read in fresh 64 KiB buffers outside the JavaScript heap, each dropped once written. Resolves to how far buffer memory rose above where it started. */
async function churn(reclaim: (bytes: number) => void): Promise<number> {
  const start = process.memoryUsage().arrayBuffers
  let peak = start
  for (let i = 0; i < 4096; i++) {
    const buffer = Buffer.allocUnsafeSlow(64 * 1024)
    buffer[0] = i
    reclaim(buffer.length)
    if (i % 16 === 0) await turn()
    peak = Math.max(peak, process.memoryUsage().arrayBuffers)
  }
  return peak - start
}

t.test('dead read buffers are reclaimed every few megabytes, not left to pile up', async (t) => {
  let open = 1
  const reclaim = bufferReclaimer(() => open)
  const one = await churn(reclaim)
  t.ok(one < 12 << 20, `one connection: at most ${(one / 1048576).toFixed(1)} MiB more buffers alive at once`)
  open = 16
  const many = await churn(reclaim)
  t.ok(many < 24 << 20, `sixteen connections: at most ${(many / 1048576).toFixed(1)} MiB more buffers alive at once`)
})
