// Every user and home location in the directory, page by page, for
// efs-map-gen --from-ldap. Only complete enumerations are returned: a server
// that fails part-way is abandoned and the next one starts from the top.
//
// Directories limit how many entries one search may return (OpenLDAP: 500
// by default, paged or not). A search that hits the limit is split into
// slices by the first characters of the naming attribute, and a slice that
// hits it is split further. Each level's slices are the prefixes extended by
// one character of the alphabet plus a remainder (names that stop there or
// go on with another character, and entries with no name), so together they
// cover what the split search covered, each entry once.

import {
  AdminLimitExceededError,
  AndFilter,
  type Client,
  type Filter,
  NotFilter,
  OrFilter,
  SizeLimitExceededError,
  SubstringFilter,
} from 'ldapts'
import type { LdapSettings } from '../config/options.js'
import { EfsHomeError } from '../errors.js'
import type { Deadline } from '../util/deadline.js'
import { attributeValues } from './attribute.js'
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

type Entry = Record<string, unknown>

// Lower case only: naming attributes match case-insensitively (uid), so `a*`
// already holds `Alice`, and an `A*` slice would count her twice.
const ALPHABET = [...'abcdefghijklmnopqrstuvwxyz0123456789._-']
// Past this, a slice that still hits the limit means the limit is tiny: say so.
const MAX_PREFIX = 6

/** The one value of `attribute`, or undefined when there is none or more than one. */
function single(entry: Entry, attribute: string): string | undefined {
  const values = attributeValues(entry, attribute)
  return values.length === 1 ? values[0] : undefined
}

function hitLimit(err: unknown): boolean {
  return err instanceof SizeLimitExceededError || err instanceof AdminLimitExceededError
}

class Enumeration<T> {
  private collect: HomeCollector<T>

  constructor(
    private readonly client: Client,
    private readonly settings: LdapSettings,
    private readonly listFilter: Filter,
    private readonly collector: () => HomeCollector<T>,
  ) {
    this.collect = collector()
  }

  private take(entry: Entry): void {
    const user = single(entry, this.settings.key_attribute)
    const location = single(entry, this.settings.attribute)
    if (user === undefined || location === undefined) this.collect.skip()
    else this.collect.add(user, location)
  }

  /** Pages of one search, each handed to `onPage`. */
  private async search(filter: Filter, onPage: (entries: readonly Entry[]) => void): Promise<void> {
    const pages = this.client.searchPaginated(this.settings.base, {
      scope: 'sub',
      filter,
      attributes: [this.settings.key_attribute, this.settings.attribute],
      paged: { pageSize: this.settings.page_size },
    })
    for await (const page of pages) onPage(page.searchEntries)
  }

  /** The whole directory in one search, page by page (memory holds one page); false when it hit a limit. */
  async whole(): Promise<boolean> {
    try {
      await this.search(this.listFilter, (entries) => {
        for (const e of entries) this.take(e)
      })
      return true
    } catch (err) {
      if (!hitLimit(err)) throw err
      this.collect = this.collector() // what the cut-off search gave is dropped
      return false
    }
  }

  private startsWith(prefix: string): Filter {
    return new SubstringFilter({ attribute: this.settings.key_attribute, initial: prefix })
  }

  /** One slice, kept only when it completes (it holds fewer entries than the limit). */
  private async slice(filters: Filter[]): Promise<boolean> {
    const held: Entry[] = []
    try {
      await this.search(new AndFilter({ filters: [this.listFilter, ...filters] }), (entries) => held.push(...entries))
    } catch (err) {
      if (hitLimit(err)) return false
      throw err
    }
    for (const e of held) this.take(e)
    return true
  }

  /** Everything under `prefix` ('' for the directory), in slices one character longer and a remainder. */
  async split(prefix: string): Promise<void> {
    for (const c of ALPHABET) {
      const longer = prefix + c
      if (await this.slice([this.startsWith(longer)])) continue
      if (longer.length >= MAX_PREFIX) throw this.limitError(`names starting with '${longer}'`)
      await this.split(longer)
    }
    const rest = new NotFilter({ filter: new OrFilter({ filters: ALPHABET.map((c) => this.startsWith(prefix + c)) }) })
    if (!(await this.slice(prefix === '' ? [rest] : [this.startsWith(prefix), rest]))) {
      throw this.limitError(
        prefix === ''
          ? 'entries whose names start with no letter, digit, dot, _ or -'
          : `names that are '${prefix}' or go on with a character outside letters, digits, dot, _ and -`,
      )
    }
  }

  private limitError(what: string): EfsHomeError {
    const identity = this.settings.bind_dn === undefined ? 'anonymous binds' : this.settings.bind_dn
    return new EfsHomeError(
      'LDAP_LIMIT',
      `the LDAP server's size limit for ${identity} stops the enumeration even in slices (${what}): bind as an identity with a higher limit ([ldap] bind_dn; OpenLDAP: limits dn.exact="…" size=unlimited)`,
    )
  }

  done(): T {
    return this.collect.done()
  }
}

export async function enumerateHomes<T>(
  settings: LdapSettings,
  deadline: Deadline,
  collector: () => HomeCollector<T>,
): Promise<Answered<T>> {
  const filter = parseFilter(settings.list_filter)
  return onFirstServer(
    settings,
    deadline,
    async (client) => {
      const enumeration = new Enumeration(client, settings, filter, collector)
      if (!(await enumeration.whole())) await enumeration.split('')
      return enumeration.done()
    },
    { perServerMs: deadline.remainingMs() },
  )
}
