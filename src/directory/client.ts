// Opening one LDAP connection: TLS (ldaps:// or StartTLS) verified against
// [ldap] ca_file, then the bind, all bounded as one step.

import { isIP } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import { Client, ResultCodeError } from 'ldapts'
import type { LdapSettings } from '../config/options.js'
import { withTimeout } from '../util/deadline.js'
import type { Secrets } from './secrets.js'

/** Closes a connection, whatever state it is in; nothing to report if it was already gone. */
export function closeQuietly(client: Client | undefined): Promise<void> {
  return client === undefined ? Promise.resolve() : client.unbind().catch(() => undefined)
}

function tlsOptions(ca: Buffer | undefined, host: string): ConnectionOptions {
  // SNI carries names only; the certificate is checked against an IP address all the same.
  return {
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(ca === undefined ? {} : { ca }),
  }
}

/**
 * Connects `client` with an anonymous bind. A directory that refuses
 * anonymous binds (slapd's `disallow bind_anon`) may still answer
 * anonymous searches: its refusal leaves the connection up, and that is all
 * this is for.
 */
async function connectAnonymously(client: Client): Promise<void> {
  try {
    await client.bind('', '')
  } catch (err) {
    if (!(err instanceof ResultCodeError && client.isConnected)) throw err
  }
}

/**
 * A client for `url`, connected (StartTLS) and bound as configured; `timeout` 0: no per-operation limit.
 * `shared`: lookups in flight will use it at once, so it is connected before it is handed out.
 */
export async function openClient(
  settings: LdapSettings,
  url: URL,
  secrets: Secrets,
  connectMs: number,
  timeout: number,
  shared = false,
): Promise<Client> {
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
    // ldapts connects on the first operation, and first operations made at
    // once each open a socket of their own, of which one is kept: an answer
    // on another is never read, and its lookup waits out its deadline. An
    // anonymous bind (as ldapsearch makes) connects it first.
    else if (shared && !client.isConnected) await connectAnonymously(client)
    return client
  }
  try {
    // Bounded even without an operation timeout: a kept connection that never finished opening would hold its server forever.
    return await withTimeout(opening(), connectMs, 'connecting')
  } catch (err) {
    await closeQuietly(client)
    throw err
  }
}
