import type { Client } from 'ldapts'
import { closeQuietly } from './client.js'

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
    void closeQuietly(client)
  }

  /** After its operation: a connection a closed pool handed out (to a lookup in flight when it closed) is closed too. */
  release(client: Client): void {
    if (this.closed) void closeQuietly(client)
  }

  close(): void {
    this.closed = true
    for (const { opening } of this.open.values()) void opening.then(closeQuietly, () => undefined)
    this.open.clear()
  }
}
