// Every user and home location in the directory, page by page, for
// efs-map-gen --from-ldap. Only complete enumerations are returned: a server
// that fails part-way is abandoned and the next one starts from the top.

import type { LdapSettings } from '../config/options.js'
import type { Deadline } from '../util/deadline.js'
import { parseFilter } from './filter.js'
import { type Answered, onFirstServer } from './servers.js'

/** Receives one enumeration; a fresh one per server tried, so a retry starts clean. */
export interface HomeCollector<T> {
  /** An entry with exactly one user name and one location. */
  add(user: string, location: string): void
  /** An entry without them. */
  skip(): void
  done(): T
}

function single(entry: Record<string, unknown>, attribute: string): string | undefined {
  const name = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase())
  const value = name === undefined ? undefined : entry[name]
  if (Array.isArray(value)) return value.length === 1 && typeof value[0] === 'string' ? value[0] : undefined
  return typeof value === 'string' ? value : undefined
}

export async function enumerateHomes<T>(settings: LdapSettings, deadline: Deadline, collector: () => HomeCollector<T>): Promise<Answered<T>> {
  const filter = parseFilter(settings.list_filter)
  return onFirstServer(
    settings,
    deadline,
    async (client) => {
      const collect = collector()
      const pages = client.searchPaginated(settings.base, {
        scope: 'sub',
        filter,
        attributes: [settings.key_attribute, settings.attribute],
        paged: { pageSize: settings.page_size },
      })
      // Page by page, so memory holds one page of entries, not the directory.
      for await (const page of pages) {
        for (const entry of page.searchEntries) {
          const user = single(entry, settings.key_attribute)
          const location = single(entry, settings.attribute)
          if (user === undefined || location === undefined) collect.skip()
          else collect.add(user, location)
        }
      }
      return collect.done()
    },
    { perServerMs: deadline.remainingMs() },
  )
}
