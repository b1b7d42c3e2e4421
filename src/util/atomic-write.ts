// Files other processes read (maps, caches) are replaced whole: written to
// a temporary file in the same directory, flushed, then renamed over the old
// one, so a reader sees the old or the new file and never a part.

import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

/** `data` may come in parts (strings written one after the other), so that it need never be in memory whole. */
export function writeFileAtomic(file: string, data: string | Buffer | Iterable<string>, mode = 0o644): void {
  const dir = dirname(file)
  mkdirSync(dir, { recursive: true })
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const fd = openSync(temp, 'wx', mode)
  try {
    // The mode asked for, whatever the caller's umask (cf-agent runs commands with 077).
    fchmodSync(fd, mode)
    if (typeof data === 'string' || Buffer.isBuffer(data)) writeFileSync(fd, data)
    else for (const part of data) writeFileSync(fd, part)
    fsyncSync(fd)
  } catch (err) {
    closeSync(fd)
    rmSync(temp, { force: true })
    throw err
  }
  closeSync(fd)
  try {
    renameSync(temp, file)
  } catch (err) {
    rmSync(temp, { force: true })
    throw err
  }
  const dirFd = openSync(dir, 'r')
  try {
    fsyncSync(dirFd)
  } finally {
    closeSync(dirFd)
  }
}
