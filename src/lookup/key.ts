// automount passes whatever path component a process touched under /home:
// `*`, `.`, `-o`, filter syntax, control characters. Only plausible user
// names go on to LDAP; everything else is refused before any query.

import { EfsHomeError } from '../errors.js'

const MAX_KEY_LENGTH = 64

// POSIX portable user names (letters, digits, . _ -), not starting with - or .
const USER_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/

export function checkKey(key: string): string {
  if (key.length > MAX_KEY_LENGTH || !USER_NAME_RE.test(key)) {
    throw new EfsHomeError(
      'KEY',
      `refused key ${JSON.stringify(key.slice(0, MAX_KEY_LENGTH))}: not a user name (letters, digits, . _ -, at most ${MAX_KEY_LENGTH})`,
    )
  }
  return key
}
