// Moves bytes one way between the NFS client's socket and the TLS socket.
// Not stream.pipe(): the TLS side hands over one TLS record (at most 16 KiB)
// at a time, and writing each to the client as it comes costs a system call
// and a wake-up of the reader per record. Bulk data is gathered for the rest
// of the event-loop turn and written with one writev(); a short reply (an
// RPC) goes out at once, so batching never delays a small message.

import type { Duplex } from 'node:stream'

// A TLS record that fills the largest plaintext fragment: more is likely in flight.
const FULL_RECORD = 16 * 1024

export interface RelayOptions {
  /** Gather full records per event-loop turn (the TLS → client direction). */
  readonly coalesce: boolean
  /** Told how many bytes each chunk carried. */
  readonly moved: (bytes: number) => void
}

/** Copies `from` to `to` with back-pressure (a full `to` pauses `from`) and ends `to` when `from` ends. */
export function relay(from: Duplex, to: Duplex, options: RelayOptions): void {
  let gathering = false
  const flush = () => {
    gathering = false
    to.uncork()
  }
  from.on('data', (chunk: Buffer) => {
    options.moved(chunk.length)
    if (options.coalesce && !gathering && chunk.length >= FULL_RECORD) {
      gathering = true
      to.cork()
      setImmediate(flush)
    }
    if (!to.write(chunk)) from.pause()
  })
  to.on('drain', () => from.resume())
  from.once('end', () => to.end())
}
