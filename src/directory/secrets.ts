// What every attempt on every server needs from files, read once per
// lookup: the bind password (first line of [ldap] bind_password_file) and
// the CA bundle for ldaps:// and StartTLS.

import type { LdapSettings } from '../config/options.js'
import { readConfigured } from '../util/read-configured.js'

export interface Secrets {
  readonly password: string | undefined
  readonly ca: Buffer | undefined
}

export function readSecrets(settings: LdapSettings): Secrets {
  return {
    password:
      settings.bind_password_file === undefined
        ? undefined
        : (readConfigured(settings.bind_password_file, '[ldap] bind_password_file').toString('utf8').split(/\r?\n/)[0] ?? '').trim(),
    ca:
      settings.ca_file !== undefined && (settings.starttls || settings.uri.some((u) => u.protocol === 'ldaps:'))
        ? readConfigured(settings.ca_file, '[ldap] ca_file')
        : undefined,
  }
}
