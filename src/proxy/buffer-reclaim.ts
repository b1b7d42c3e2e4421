// Every socket read gives the proxy a fresh buffer outside the JavaScript
// heap (up to 64 KiB), which is freed only when a garbage collection finds it
// dead. The proxy allocates almost nothing else, so V8 sees no reason to
// collect until tens of megabytes of dead buffers have piled up in the malloc
// heap, and glibc keeps that memory once it has it: the proxy's resident size
// settles near 80 MB after the first bulk transfer.
//
// So the proxy collects as it goes. With one connection open (NFS opens one
// per server unless mounted with nconnect) a young-generation collection
// every 2 MiB frees the buffers while they are young: peak RSS ≈ 58 MB. With
// several connections, young collections measured far worse (130-150 MB at
// 16 connections: buffers waiting on back-pressure outlive them and pile up in
// the old generation), so a full collection every 8 MiB is used instead
// (≈ 76 MB at 16 connections). Measured with `npm run bench -- --only proxy`
// and sixteen parallel streams; each collection takes about a millisecond.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export interface ReclaimIntervals {
  /** Bytes between young-generation collections while at most one connection is open. */
  readonly young: number
  /** Bytes between full collections while more are. */
  readonly full: number
}

export const RECLAIM_INTERVALS: ReclaimIntervals = { young: 2 << 20, full: 8 << 20 }

type Collect = (options: { type: 'minor' | 'major' }) => void

function collector(): Collect {
  const exposed = (globalThis as { gc?: Collect }).gc
  if (exposed !== undefined) return exposed
  // However the proxy was started (systemd unit, supervisor, by hand), the
  // flag can still be set and gc() fetched from a fresh context.
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as Collect
}

/** Returns a counter to call with each chunk's size; it collects garbage as the header says. */
export function bufferReclaimer(openConnections: () => number, intervals: ReclaimIntervals = RECLAIM_INTERVALS): (bytes: number) => void {
  const collect = collector()
  let since = 0
  return (bytes) => {
    since += bytes
    const one = openConnections() <= 1
    if (since < (one ? intervals.young : intervals.full)) return
    since = 0
    collect({ type: one ? 'minor' : 'major' })
  }
}
