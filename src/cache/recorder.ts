// How a lookup records what LDAP said in the last-known-good cache. A lookup
// process writes through at once; the resident agent batches: rewriting a
// cache of 20,000 users (≈1.5 MB) for every new user, and reading it back
// for every lookup, would cost each lookup more than the lookup itself.

import { statSync } from 'node:fs'
import { applyToHomesCache, type HomesCache, recordInHomesCache, writeHomesCache } from './homes-cache.js'

export interface CacheRecorder {
  /** `location` undefined: LDAP says there is no such user. Best effort: never throws. */
  record(user: string, location: string | undefined, now: number, refreshAfter: number): void
  /** Writes what is pending, before the cache is read. */
  flush(): void
}

function bestEffort(work: () => unknown): void {
  try {
    work()
  } catch {
    // The cache only helps during outages; failing to update it must not fail a login.
  }
}

/** Writes each record through to `file` at once. */
export function directRecorder(file: string): CacheRecorder {
  return {
    record: (user, location, now, refreshAfter) =>
      bestEffort(() => recordInHomesCache(file, new Map([[user, location]]), now, refreshAfter)),
    flush: () => undefined,
  }
}

/** The file as it stands (inode, size, modification time), to notice another writer. */
function version(file: string): string {
  try {
    const s = statSync(file)
    return `${s.ino}:${s.size}:${s.mtimeMs}`
  } catch {
    return 'none'
  }
}

/**
 * Holds what the file holds (as this recorder last wrote or read it), so a
 * lookup that changes nothing costs no file read, and writes what changed
 * in one go, `delayMs` after the first change (so at most once per
 * `delayMs`), from what it holds rather than reading the file back. When
 * another process rewrote or removed the file meanwhile, what it holds
 * counts for nothing: the file is read again.
 */
export class BatchedRecorder implements CacheRecorder {
  /** What the file holds; undefined before the first write, and while efs-map-gen keeps it. */
  private mirror: HomesCache | undefined
  /** The file as this recorder last left it. */
  private written = ''
  private readonly pending = new Map<string, string | undefined>()
  private refreshAfter = 0
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly file: string,
    private readonly delayMs: number,
  ) {}

  /** Whether the file already says what LDAP said, recently enough. */
  private holds(user: string, location: string | undefined, now: number, refreshAfter: number): boolean {
    if (this.mirror === undefined || version(this.file) !== this.written) return false
    const held = this.mirror.get(user)
    return location === undefined ? held === undefined : held?.location === location && now - held.at < refreshAfter
  }

  record(user: string, location: string | undefined, now: number, refreshAfter: number): void {
    const queued = this.pending.has(user)
    if (queued ? this.pending.get(user) === location : this.holds(user, location, now, refreshAfter)) return
    this.pending.set(user, location)
    // The shortest asked for: a removal (0) must not wait for an entry to age.
    this.refreshAfter = this.pending.size === 1 ? refreshAfter : Math.min(this.refreshAfter, refreshAfter)
    this.timer ??= setTimeout(() => this.flush(), this.delayMs)
    this.timer.unref()
  }

  flush(now = Math.floor(Date.now() / 1000)): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.size === 0) return
    const said = new Map(this.pending)
    this.pending.clear()
    bestEffort(() => {
      // The file as this recorder left it: write from what it holds, without reading megabytes back.
      if (this.mirror !== undefined && version(this.file) === this.written) {
        if (applyToHomesCache(this.mirror, said, now, this.refreshAfter)) writeHomesCache(this.file, this.mirror)
      } else this.mirror = recordInHomesCache(this.file, said, now, this.refreshAfter)
    })
    this.written = version(this.file)
  }
}
