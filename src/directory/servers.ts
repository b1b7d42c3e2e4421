// ldapts has no failover: try each configured URI in order (those that
// failed recently last, when told), each attempt (connect, StartTLS, bind,
// operation) bounded by the per-server timeout and the lookup's deadline,
// and use the first server that completes.

import { isIP } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import { Client, ResultCodeError } from 'ldapts'
import type { LdapSettings } from '../config/options.js'
import { EfsHomeError, oneLine } from '../errors.js'
import { type Deadline, TimeoutError, withTimeout } from '../util/deadline.js'
import { readConfigured } from '../util/read-configured.js'
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

function tlsOptions(ca: Buffer | undefined, host: string): ConnectionOptions {
  // SNI carries names only; the certificate is checked against an IP address all the same.
  return { minVersion: 'TLSv1.2', rejectUnauthorized: true, ...(isIP(host) === 0 ? { servername: host } : {}), ...(ca === undefined ? {} : { ca }) }
}

/** What every attempt needs from files, read once: the bind password and the CA bundle. */
interface Secrets {
  readonly password: string | undefined
  readonly ca: Buffer | undefined
}

/** A client for `url`, connected (StartTLS) and bound as configured; `timeout` 0: no per-operation limit. */
async function openClient(settings: LdapSettings, url: URL, secrets: Secrets, connectMs: number, timeout: number): Promise<Client> {
  const secure = url.protocol === 'ldaps:'
  const tls = secure || settings.starttls ? tlsOptions(secrets.ca, url.hostname) : undefined
  const client = new Client({
    url: `${url.protocol}//${url.host}`,
    connectTimeout: connectMs,
    timeout,
    ...(secure && tls !== undefined ? { tlsOptions: tls } : {}),
  })
  const opening = async (): Promise<Client> => {
    if (!secure && tls !== undefined) await client.startTLS(tls)
    if (settings.bind_dn !== undefined) await client.bind(settings.bind_dn, secrets.password ?? '')
    return client
  }
  try {
    // Bounded even without an operation timeout: a kept connection that never finished opening would hold its server forever.
    return await withTimeout(opening(), connectMs, 'connecting')
  } catch (err) {
    await client.unbind().catch(() => undefined)
    throw err
  }
}

/**
 * Connections a long-lived process (the lookup agent) keeps open between
 * lookups, one per server, shared by the lookups in flight: a login then
 * costs the directory one search, not a connection, a search and an unbind.
 */
export class ConnectionPool {
  /** Per server: the connection being opened, and once open, the client. */
  private readonly open = new Map<string, { readonly opening: Promise<Client>; client?: Client }>()
  private closed = false

  /** The kept connection to `url`, or a new one from `connect`. */
  get(url: URL, connect: () => Promise<Client>): Promise<Client> {
    const kept = this.open.get(url.href)
    // ldapts reconnects a closed client by itself, but without the bind: never reuse one that lost its connection.
    if (kept?.client !== undefined && !kept.client.isConnected) this.drop(url, kept.client)
    else if (kept !== undefined) return kept.opening
    const entry: { readonly opening: Promise<Client>; client?: Client } = { opening: connect() }
    this.open.set(url.href, entry)
    entry.opening.then(
      (client) => (entry.client = client),
      () => this.open.get(url.href) === entry && this.open.delete(url.href),
    )
    return entry.opening
  }

  /** Closes `client`, and forgets it if it is still the kept connection to `url`. */
  drop(url: URL, client: Client): void {
    if (this.open.get(url.href)?.client === client) this.open.delete(url.href)
    void client.unbind().catch(() => undefined)
  }

  /** After its operation: a connection a closed pool handed out (to a lookup in flight when it closed) is closed too. */
  release(client: Client): void {
    if (this.closed) void client.unbind().catch(() => undefined)
  }

  close(): void {
    this.closed = true
    for (const { opening } of this.open.values()) void opening.then((c) => c.unbind()).catch(() => undefined)
    this.open.clear()
  }
}

/** One attempt on a connection of its own, closed after it. */
async function attemptAlone<T>(settings: LdapSettings, url: URL, secrets: Secrets, ms: number, operation: (client: Client) => Promise<T>): Promise<T> {
  // Each LDAP operation (one page of an enumeration, say) gets [ldap] timeout;
  // the attempt as a whole gets `ms`.
  const operationMs = Math.min(ms, settings.timeout * 1000)
  let client: Client | undefined
  const work = async (): Promise<T> => operation((client = await openClient(settings, url, secrets, operationMs, operationMs)))
  try {
    return await withTimeout(work(), ms, 'server', () => void client?.unbind().catch(() => undefined))
  } finally {
    await client?.unbind().catch(() => undefined)
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
    const work = async (): Promise<T> => operation((client = await pool.get(url, () => openClient(settings, url, secrets, settings.timeout * 1000, 0))))
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
  const secrets: Secrets = {
    password:
      settings.bind_password_file === undefined
        ? undefined
        : (readConfigured(settings.bind_password_file, '[ldap] bind_password_file').toString('utf8').split(/\r?\n/)[0] ?? '').trim(),
    ca:
      settings.ca_file !== undefined && (settings.starttls || settings.uri.some((u) => u.protocol === 'ldaps:'))
        ? readConfigured(settings.ca_file, '[ldap] ca_file')
        : undefined,
  }
  const attempts: Attempt[] = []
  try {
    for (const url of health?.order ?? settings.uri) {
      const ms = deadline.budget(perServerMs)
      if (ms <= 0) break
      const started = Date.now()
      const tried = { uri: url.href, ...(health?.isDemoted(url) === true ? { demoted: true } : {}) }
      try {
        const value = await (pool === undefined ? attemptAlone(settings, url, secrets, ms, operation) : attemptPooled(settings, url, secrets, ms, operation, pool))
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
