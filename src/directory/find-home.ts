// One user's home location from the directory: exactly one entry with
// exactly one value, or a typed error.

import type { Client } from 'ldapts'
import type { LdapSettings } from '../config/options.js'
import { EfsHomeError } from '../errors.js'
import type { Deadline } from '../util/deadline.js'
import { attributeValues } from './attribute.js'
import { keyedFilter } from './filter.js'
import { type Answered, type FailoverOptions, onFirstServer } from './servers.js'

/**
 * NOT_FOUND unless the entry holds the key exactly in an attribute the filter
 * compares it with: the directory's matching rules would otherwise hand
 * alice's home to `ALICE`, a second path to her files under another name.
 */
function checkNamedByKey(entry: { dn: string } & Record<string, unknown>, key: string, keyAttributes: readonly string[]): void {
  if (keyAttributes.length === 0 || keyAttributes.some((a) => attributeValues(entry, a).includes(key))) return
  const names = keyAttributes.map((a) => `${a} ${JSON.stringify(attributeValues(entry, a))}`).join(', ')
  throw new EfsHomeError('NOT_FOUND', `no user '${key}': the LDAP entry that matched (${entry.dn}) has ${names}, not exactly '${key}'`)
}

/** The location, or NOT_FOUND / ABSENT (no such attribute) / AMBIGUOUS (answers), or DirectoryUnavailableError (no answer). */
export async function findHome(
  settings: LdapSettings,
  key: string,
  deadline: Deadline,
  failover: Omit<FailoverOptions, 'perServerMs'> = {},
): Promise<Answered<string>> {
  const { filter, keyAttributes } = keyedFilter(settings.filter, key)
  const search = async (client: Client): Promise<string> => {
    // Two are enough to tell "exactly one" from "more than one".
    const { searchEntries } = await client.search(settings.base, {
      scope: 'sub',
      filter,
      attributes: [settings.attribute, ...keyAttributes],
      sizeLimit: 2,
    })
    if (searchEntries.length === 0) throw new EfsHomeError('NOT_FOUND', `no LDAP entry for '${key}'`)
    if (searchEntries.length > 1) {
      throw new EfsHomeError(
        'AMBIGUOUS',
        `refused '${key}': more than one LDAP entry matches (${searchEntries.map((e) => e.dn).join('; ')})`,
      )
    }
    const entry = searchEntries[0] ?? { dn: '' }
    checkNamedByKey(entry, key, keyAttributes)
    const values = attributeValues(entry, settings.attribute)
    if (values.length === 0) throw new EfsHomeError('ABSENT', `'${key}' has no ${settings.attribute}`)
    if (values.length > 1) throw new EfsHomeError('AMBIGUOUS', `'${key}' has ${values.length} ${settings.attribute} values, expected one`)
    return values[0] ?? ''
  }
  return onFirstServer(settings, deadline, search, failover)
}
