// The host's key for EFS client certificates: RSA 3072 as efs-utils makes
// it, one per host (generating one takes about half a second), root-only,
// in [proxy] state_dir. Made once, under a lock, written whole; a file that
// is empty or not a key (an interrupted write, a full disk) is replaced,
// never a reason to fail every mount (efs-csi-driver #683).

import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { join } from 'node:path'
import type { Config } from '../config/load.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { withLock } from '../util/lock.js'
import { makeTrustedDir, readTrustedFile } from '../util/trusted-files.js'

const KEY_BITS = 3072

export function clientKeyPath(config: Config): string {
  return join(config.proxy.state_dir, 'client-key.pem')
}

function readKey(file: string): KeyObject | undefined {
  try {
    const pem = readTrustedFile(file, 64 << 10)
    if (pem === undefined || pem.length === 0) return undefined
    const key = createPrivateKey(pem)
    return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? key : undefined
  } catch {
    return undefined
  }
}

/** The host's client key, made (or remade, when unusable) if need be; `made` says why it was. */
export async function hostClientKey(config: Config): Promise<{ key: KeyObject; made?: string }> {
  const file = clientKeyPath(config)
  makeTrustedDir(config.proxy.state_dir, '[proxy] state_dir')
  const key = readKey(file)
  if (key !== undefined) return { key }
  // Proxies of several file systems start together at boot: one makes the key, the others read it.
  return withLock(`${file}.lock`, 30_000, () => {
    const again = readKey(file)
    if (again !== undefined) return { key: again }
    const made = readTrustedFile(file, 64 << 10) === undefined ? 'none yet' : 'the old one was empty or not an RSA key'
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: KEY_BITS })
    writeFileAtomic(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), 0o600)
    return { key: privateKey, made }
  })
}
