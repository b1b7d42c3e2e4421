// A file the config names (a CA bundle, a password file): its bytes, or a
// CONFIG error naming the option and the file.

import { readFileSync } from 'node:fs'
import { EfsHomeError, oneLine } from '../errors.js'

export function readConfigured(file: string, what: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new EfsHomeError('CONFIG', `cannot read ${what} ${file}: ${oneLine(err)}`)
  }
}
