// Every failure the tools report is one of these: a stable code for scripts
// and tests, and a one-line message that names cause, subject and remedy.

export type ErrorCode =
  | 'CONFIG' // the config file is missing, unreadable or invalid
  | 'KEY' // automount handed us a key that is not a plausible user name
  | 'NOT_FOUND' // LDAP answered: no such user
  | 'ABSENT' // the user has no location in this tree (a tree besides /home): no entry, and nothing worth a log line
  | 'AMBIGUOUS' // more than one LDAP entry for the key
  | 'LOCATION' // the user's home location is malformed or unsafe
  | 'LDAP_UNAVAILABLE' // no LDAP server answered in time
  | 'LDAP_LIMIT' // the directory's size limit stops an enumeration, even split into slices
  | 'DEADLINE' // the whole lookup ran out of time
  | 'ENTRY' // a mount entry cannot be built for this server
  | 'PROXY' // a TLS proxy cannot start, or what holds its port cannot be trusted
  | 'IAM' // no usable AWS credentials or client certificate for EFS IAM authorization or an access point
  | 'CACHE' // the last-known-good cache is unusable
  | 'GUARD' // a generated file would lose too much of what it holds
  | 'RELOAD' // automount could not be told to re-read its maps
  | 'FIREWALL' // iptables refused, failed or is missing
  | 'INTERNAL' // an error efs-home did not expect: a defect, worth reporting
  | 'LOCK' // another efs-home process holds a lock for longer than a step may wait
  | 'UNSAFE_PATH' // a directory or file root would trust could be changed by someone else

export class EfsHomeError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'EfsHomeError'
  }
}

export class ConfigError extends EfsHomeError {
  readonly file: string
  readonly section: string | undefined
  readonly key: string | undefined

  constructor(file: string, message: string, where: { section?: string; key?: string } = {}) {
    const place = where.section === undefined ? '' : `[${where.section}]${where.key === undefined ? '' : ` ${where.key}`}: `
    super('CONFIG', `${place}${message} (${file})`)
    this.file = file
    this.section = where.section
    this.key = where.key
    this.name = 'ConfigError'
  }
}

/** A Node system error (ENOENT, EEXIST, ...), optionally of one code: a type guard, not a cast. */
export function isErrno(err: unknown, code?: string): err is NodeJS.ErrnoException {
  if (!(err instanceof Error) || !('code' in err) || typeof err.code !== 'string') return false
  return code === undefined || err.code === code
}

/** The errno code of anything thrown, if it has one. */
export function errnoCode(err: unknown): string | undefined {
  return isErrno(err) ? err.code : undefined
}

/** The message of anything thrown, on one line: automount logs each stderr line separately. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim()
}
