// The trust anchor of every TLS connection to EFS, [efs] ca_file: the Amazon
// root CAs that EFS certificates chain to (templates/efs-ca.pem, the same
// four roots efs-utils ships). Checked before a proxy is started, so a
// missing or broken file fails a lookup at once with its cause instead of
// a proxy that dies at every start.

import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Config } from '../config/load.js'
import { EfsHomeError, oneLine, errnoCode } from '../errors.js'

export interface EfsCa {
  readonly pem: Buffer
  /** Subjects of the CA certificates in the file. */
  readonly authorities: readonly string[]
}

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g
const FIX = 'install the Amazon root CAs there (efs-ca.pem from the efs-home release), or point [efs] ca_file at a file that holds them'

function refuse(file: string, why: string): never {
  throw new EfsHomeError('CONFIG', `[efs] ca_file ${file}: ${why}: ${FIX}`)
}

/** The CA file's bytes, when it holds at least one CA certificate; a CONFIG error naming the cause and the fix otherwise. */
export function readEfsCa(config: Config): EfsCa {
  const file = config.efs.ca_file
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (err) {
    const code = errnoCode(err)
    refuse(file, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : oneLine(err))
  }
  const blocks = pem.toString('latin1').match(PEM_RE) ?? []
  if (blocks.length === 0) refuse(file, 'holds no PEM certificate')
  const authorities = blocks.flatMap((block, i) => {
    let cert: X509Certificate
    try {
      cert = new X509Certificate(block)
    } catch (err) {
      refuse(file, `certificate ${i + 1} does not parse (${oneLine(err)})`)
    }
    return cert.ca ? [cert.subject.replace(/\n/g, ', ')] : []
  })
  if (authorities.length === 0) refuse(file, 'holds no CA certificate')
  return { pem, authorities }
}
