// Every lookup is a new process, so without a memory every login would wait
// out a dead first server before trying the next. Lookups share which
// servers failed recently through a small file beside the cache; those are
// tried after the others until [ldap] retry_failed_after has passed. The
// file is a hint: unreadable or odd content means "no server known bad".

import { dirname, join } from 'node:path'
import type { Config } from '../config/load.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { checkTrustedDir, makeTrustedDir, readTrustedFile } from '../util/trusted-files.js'

/** URI -> until when (ms since the epoch) it is tried last. */
type Marks = Record<string, number>

export interface ServerHealth {
  /** The URIs, those that failed recently moved (in their order) behind the others. */
  readonly order: readonly URL[]
  isDemoted(uri: URL): boolean
  /** Records what the attempts showed; writes the file only when that changes something. */
  record(outcomes: readonly { readonly uri: string; readonly ok: boolean }[]): void
}

export function healthFile(config: Pick<Config, 'home'>): string {
  return join(dirname(config.home.cache_file), 'ldap-health.json')
}

function readMarks(file: string): Marks {
  try {
    checkTrustedDir(dirname(file), 'the [home] cache_file directory')
    const parsed: unknown = JSON.parse(readTrustedFile(file)?.toString('utf8') ?? '{}')
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {}
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => Number.isFinite(e[1])))
  } catch {
    return {}
  }
}

export function serverHealth(file: string, uris: readonly URL[], retryAfterSeconds: number, now = Date.now()): ServerHealth {
  const marks = readMarks(file)
  const isDemoted = (uri: URL) => (marks[uri.href] ?? 0) > now
  return {
    order: [...uris.filter((u) => !isDemoted(u)), ...uris.filter(isDemoted)],
    isDemoted,
    record(outcomes) {
      let changed = false
      for (const { uri, ok } of outcomes) {
        if (ok && uri in marks) {
          delete marks[uri]
          changed = true
        } else if (!ok && !((marks[uri] ?? 0) > now)) {
          marks[uri] = now + retryAfterSeconds * 1000
          changed = true
        }
      }
      if (!changed) return
      try {
        makeTrustedDir(dirname(file), 'the [home] cache_file directory')
        writeFileAtomic(file, `${JSON.stringify(marks)}\n`)
      } catch {
        // Best effort: a read-only /var costs the next login a timeout, nothing more.
      }
    },
  }
}
