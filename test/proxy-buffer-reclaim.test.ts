// The proxy's buffer reclaimer, in a process of its own (so no other test's
// garbage is counted): with one connection open, dead read buffers do not
// pile up.

import t from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { bufferReclaimer } from '../src/proxy/buffer-reclaim.js'

t.test('one connection: dead read buffers are reclaimed every few megabytes, not left to pile up', async (t) => {
  // As sockets do: 256 MiB read in fresh 64 KiB buffers outside the JavaScript heap, each dropped once written.
  const reclaim = bufferReclaimer(() => 1)
  const start = process.memoryUsage().arrayBuffers
  let peak = start
  for (let i = 0; i < 4096; i++) {
    const buffer = Buffer.allocUnsafeSlow(64 * 1024)
    buffer[0] = i
    reclaim(buffer.length)
    if (i % 16 === 0) await turn()
    peak = Math.max(peak, process.memoryUsage().arrayBuffers)
  }
  t.ok(peak - start < 12 << 20, `at most ${((peak - start) / 1048576).toFixed(1)} MiB more buffers alive at once`)
})
