// ldapts has no failover: try each configured URI in order (those that
// failed recently last, when told), each attempt (connect, StartTLS, bind,
// operation) bounded by the per-server timeout and the lookup's deadline,
// and use the first server that completes.

import { type Client, ResultCodeError } from 'ldapts'
import type { LdapSettings } from '../config/options.js'
import { EfsHomeError, oneLine } from '../errors.js'
import { type Deadline, TimeoutError, withTimeout } from '../util/deadline.js'
import { closeQuietly, openClient } from './client.js'
import type { ConnectionPool } from './pool.js'
import { readSecrets, type Secrets } from './secrets.js'
import type { ServerHealth } from './server-health.js'

export interface Attempt {
  readonly uri: string
  readonly ok: boolean
  readonly error?: string
  readonly ms: number
  /** Tried after the others: it failed recently. */
  readonly demoted?: boolean
}

export interface Answered<T> {
  readonly uri: string
  readonly value: T
  readonly attempts: readonly Attempt[]
}

/** Thrown when no server answered; carries each server's failure. */
export class DirectoryUnavailableError extends EfsHomeError {
  readonly attempts: readonly Attempt[]

  constructor(attempts: readonly Attempt[]) {
    const why = attempts.map((a) => `${a.uri}: ${a.error ?? 'failed'}`).join('; ')
    super('LDAP_UNAVAILABLE', `no LDAP server answered (${why || 'no time left to try any'})`)
    this.attempts = attempts
  }
}

/** ldapts result errors read "<server text> Code: 0x31": say which result it was. */
function describe(err: unknown): string {
  if (!(err instanceof ResultCodeError)) return oneLine(err)
  const text = oneLine(err).replace(/\s*Code: 0x[0-9a-f]+$/, '')
  return `${err.name.replace(/Error$/, '')} (LDAP result ${err.code})${text === '' ? '' : `: ${text}`}`
}

/** One attempt on a connection of its own, closed after it. */
async function attemptAlone<T>(
  settings: LdapSettings,
  url: URL,
  secrets: Secrets,
  ms: number,
  operation: (client: Client) => Promise<T>,
): Promise<T> {
  // Each LDAP operation (one page of an enumeration, say) gets [ldap] timeout;
  // the attempt as a whole gets `ms`.
  const operationMs = Math.min(ms, settings.timeout * 1000)
  let client: Client | undefined
  const work = async (): Promise<T> => {
    client = await openClient(settings, url, secrets, operationMs, operationMs)
    return operation(client)
  }
  try {
    return await withTimeout(work(), ms, 'server', () => void closeQuietly(client))
  } finally {
    await closeQuietly(client)
  }
}

/**
 * One attempt on the pool's connection. ldapts's own operation timeout would
 * close the connection under every lookup sharing it, so it is off here and
 * the attempt's budget is enforced around the operation instead.
 */
async function attemptPooled<T>(
  settings: LdapSettings,
  url: URL,
  secrets: Secrets,
  ms: number,
  operation: (client: Client) => Promise<T>,
  pool: ConnectionPool,
): Promise<T> {
  const started = Date.now()
  for (let tries = 2; ; tries--) {
    let client: Client | undefined
    const work = async (): Promise<T> => {
      client = await pool.get(url, () => openClient(settings, url, secrets, settings.timeout * 1000, 0, true))
      return operation(client)
    }
    try {
      return await withTimeout(work(), ms - (Date.now() - started), 'server')
    } catch (err) {
      // An answer such as "no such user" is the server working.
      if (err instanceof EfsHomeError) throw err
      const used = client as Client | undefined
      // Out of time: the connection is suspect (a server that stopped answering); the others sharing it retry.
      if (err instanceof TimeoutError) {
        if (used !== undefined) pool.drop(url, used)
        throw err
      }
      // An LDAP error on a live connection: the connection stays for the others.
      if (used?.isConnected === true) throw err
      // The connection went away under us (closed by the server, or dropped by another lookup's timeout): once more on a fresh one.
      if (used !== undefined) pool.drop(url, used)
      if (tries <= 1) throw err
    } finally {
      if (client !== undefined) pool.release(client)
    }
  }
}

export interface FailoverOptions {
  /** Budget of one server (default [ldap] timeout). */
  readonly perServerMs?: number
  /** Servers that failed recently are tried last, and what this call learns is recorded. */
  readonly health?: ServerHealth
  /** Connections to keep for the next call (a long-lived process); default: one per attempt, closed after it. */
  readonly pool?: ConnectionPool
}

/**
 * Runs `operation` on the first server that completes it within the
 * per-server budget; DirectoryUnavailableError when none does. The
 * operation may run more than once: it must start afresh.
 */
export async function onFirstServer<T>(
  settings: LdapSettings,
  deadline: Deadline,
  operation: (client: Client) => Promise<T>,
  { perServerMs = settings.timeout * 1000, health, pool }: FailoverOptions = {},
): Promise<Answered<T>> {
  const secrets = readSecrets(settings)
  const attempts: Attempt[] = []
  try {
    for (const url of health?.order ?? settings.uri) {
      const ms = deadline.budget(perServerMs)
      if (ms <= 0) break
      const started = Date.now()
      const tried = { uri: url.href, ...(health?.isDemoted(url) === true ? { demoted: true } : {}) }
      try {
        const value = await (pool === undefined
          ? attemptAlone(settings, url, secrets, ms, operation)
          : attemptPooled(settings, url, secrets, ms, operation, pool))
        attempts.push({ ...tried, ok: true, ms: Date.now() - started })
        return { uri: url.href, value, attempts }
      } catch (err) {
        // An answer such as "no such user" is the server working.
        const answered = err instanceof EfsHomeError
        attempts.push({ ...tried, ok: answered, ...(answered ? {} : { error: describe(err) }), ms: Date.now() - started })
        if (answered) throw err
      }
    }
  } finally {
    health?.record(attempts)
  }
  throw new DirectoryUnavailableError(attempts)
}
