// Every socket read gives the proxy a fresh buffer outside the JavaScript
// heap, freed only when a collection finds it dead; the proxy allocates
// little else, so V8 waits until tens of megabytes of dead buffers pile up,
// and glibc keeps that memory. While one connection is open (NFS opens one
// per server unless mounted with nconnect) the proxy collects young garbage
// every few MiB it moves, which frees the buffers while they are young; with
// several open it leaves collection to V8, where forced collections measured
// erratic. The figures are in test/bench/results/ (npm run bench -- --only proxy).

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export const RECLAIM_EVERY_BYTES = 2 << 20

type Collect = (options: { type: 'minor' }) => void

function collector(): Collect {
  const exposed = (globalThis as { gc?: Collect }).gc
  if (exposed !== undefined) return exposed
  // However the proxy was started (systemd unit, supervisor, by hand), the
  // flag can still be set and gc() fetched from a fresh context.
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as Collect
}

/** Returns a counter to call with each chunk's size; while at most one connection is open it collects young garbage every `everyBytes`. */
export function bufferReclaimer(openConnections: () => number, everyBytes = RECLAIM_EVERY_BYTES): (bytes: number) => void {
  const collect = collector()
  let since = 0
  return (bytes) => {
    since += bytes
    if (since < everyBytes) return
    since = 0
    if (openConnections() <= 1) collect({ type: 'minor' })
  }
}
