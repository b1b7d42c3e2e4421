// Every socket read gives the proxy a fresh buffer outside the JavaScript
// heap (up to 64 KiB), which is freed only when a garbage collection finds it
// dead. The proxy allocates almost nothing else, so V8 sees no reason to
// collect until tens of megabytes of dead buffers have piled up in the malloc
// heap, and the proxy's resident size grows by that much under bulk traffic.
// A young-generation collection after every few megabytes relayed frees them
// while they are still young; it takes well under a millisecond.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export const RECLAIM_EVERY_BYTES = 2 * 1024 * 1024

type Collect = (options: { type: 'minor' }) => void

function collector(): Collect {
  const exposed = (globalThis as { gc?: Collect }).gc
  if (exposed !== undefined) return exposed
  // However the proxy was started (systemd unit, supervisor, by hand), the
  // flag can still be set and gc() fetched from a fresh context.
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as Collect
}

/** Returns a counter to call with each chunk's size; it collects young garbage every `everyBytes`. */
export function bufferReclaimer(everyBytes = RECLAIM_EVERY_BYTES): (bytes: number) => void {
  const collect = collector()
  let since = 0
  return (bytes) => {
    since += bytes
    if (since < everyBytes) return
    since = 0
    collect({ type: 'minor' })
  }
}
