// The proxy's buffer reclaimer, in a process of its own (so no other test's
// garbage is counted): dead read buffers do not pile up.

import t from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { bufferReclaimer } from '../src/proxy/buffer-reclaim.js'

t.test('dead read buffers are reclaimed every few megabytes, not left to pile up', async (t) => {
  // As sockets do: a fresh 64 KiB buffer outside the JavaScript heap per read, dropped once written.
  const reclaim = bufferReclaimer(2 << 20)
  let peak = 0
  for (let i = 0; i < 4096; i++) {
    const buffer = Buffer.allocUnsafeSlow(64 * 1024)
    buffer[0] = i
    reclaim(buffer.length)
    if (i % 16 === 0) await turn()
    peak = Math.max(peak, process.memoryUsage().arrayBuffers)
  }
  t.ok(peak < 12 << 20, `256 MiB read: at most ${(peak / 1048576).toFixed(1)} MiB of buffers alive at once`)
})
