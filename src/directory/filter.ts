// The search filter comes from a site template such as
// `(&(objectClass=posixAccount)(uid={key}))`. The key never passes through
// filter text: the template is parsed with a placeholder, and the key is put
// into the parsed assertion objects, which ldapts encodes as raw octets.

import {
  AndFilter,
  ApproximateFilter,
  EqualityFilter,
  ExtensibleFilter,
  type Filter,
  FilterParser,
  GreaterThanEqualsFilter,
  LessThanEqualsFilter,
  NotFilter,
  OrFilter,
  SubstringFilter,
} from 'ldapts'

// Letters only, so the filter parser keeps it as one plain assertion value.
const PLACEHOLDER = 'efshomekeyplaceholderzq'

export class FilterTemplateError extends Error {
  override name = 'FilterTemplateError'
}

const VALUED = [EqualityFilter, ApproximateFilter, GreaterThanEqualsFilter, LessThanEqualsFilter, ExtensibleFilter]

/** The attribute a valued assertion compares with (an extensible match names it as its type). */
function attributeOf(filter: Filter): string {
  return filter instanceof ExtensibleFilter ? filter.matchType : (filter as EqualityFilter).attribute
}

/**
 * Puts `key` into every assertion of `filter` whose value is the placeholder;
 * returns how many, and adds to `compared` the attributes of those not under a NOT.
 */
function substitute(filter: Filter, key: string, compared: Set<string>, negated = false): number {
  if (filter instanceof AndFilter || filter instanceof OrFilter) {
    return filter.filters.reduce((n, f) => n + substitute(f, key, compared, negated), 0)
  }
  if (filter instanceof NotFilter) return substitute(filter.filter, key, compared, !negated)
  if (filter instanceof SubstringFilter) {
    if ([filter.initial, filter.final, ...filter.any].some((part) => part.includes(PLACEHOLDER))) {
      throw new FilterTemplateError('{key} must be a whole assertion value, not part of a wildcard match')
    }
    return 0
  }
  if (!VALUED.some((kind) => filter instanceof kind)) return 0
  const valued = filter as EqualityFilter
  if (typeof valued.value !== 'string' || !valued.value.includes(PLACEHOLDER)) return 0
  if (valued.value !== PLACEHOLDER) throw new FilterTemplateError('{key} must be a whole assertion value, like (uid={key})')
  valued.value = key
  const attribute = attributeOf(filter)
  if (!negated && attribute !== '') compared.add(attribute)
  return 1
}

/** Parses filter text strictly: ldapts accepts an unclosed filter without complaint. */
export function parseFilter(text: string, shown: string = text): Filter {
  // In filter text every parenthesis is structure (literal ones are written \28 and \29).
  let depth = 0
  for (const c of text) {
    depth += c === '(' ? 1 : c === ')' ? -1 : 0
    if (depth < 0) break
  }
  try {
    if (depth !== 0) throw new Error('unbalanced parentheses')
    return FilterParser.parseString(text)
  } catch (err) {
    throw new FilterTemplateError(`'${shown}' is not an LDAP filter: ${(err as Error).message}`)
  }
}

export interface KeyedFilter {
  readonly filter: Filter
  /**
   * The attributes the filter compares the key with. The directory matches
   * by the attribute's rule (caseIgnoreMatch for uid: `ALICE` finds alice),
   * so an entry is the key's only when one of these holds the key exactly.
   */
  readonly keyAttributes: readonly string[]
}

/** The search filter for `key`; throws FilterTemplateError when the template is unusable. */
export function keyedFilter(template: string, key: string): KeyedFilter {
  if (template.includes(PLACEHOLDER)) throw new FilterTemplateError('the template contains a reserved word')
  const filter = parseFilter(template.split('{key}').join(PLACEHOLDER), template)
  const compared = new Set<string>()
  if (substitute(filter, key, compared) === 0) throw new FilterTemplateError(`'${template}' must contain {key}`)
  return { filter, keyAttributes: [...compared] }
}

export function buildFilter(template: string, key: string): Filter {
  return keyedFilter(template, key).filter
}
