// Files root reads and writes for efs-home (the cache, proxy state and logs,
// the port file, the agent's socket) live in directories that must be
// root's own: whoever can create files there can forge state root trusts,
// plant a FIFO that hangs every lookup, or a link that makes root append to
// any file. Such a directory is refused with the reason; files in it are
// opened without following links or blocking, and must be regular files.

import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, realpathSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { EfsHomeError, oneLine, errnoCode } from '../errors.js'

const OWNER = process.getuid?.() ?? 0

/** Why `dir` (or a directory above it) could be changed by someone else, or undefined when it cannot. */
function untrustedBecause(dir: string): string | undefined {
  const real = realpathSync(dir)
  const own = statSync(real)
  if (!own.isDirectory()) return `${dir} is not a directory`
  if (own.uid !== OWNER) return `${dir} belongs to uid ${own.uid}`
  if ((own.mode & 0o022) !== 0) return `${dir} is writable by others (mode ${(own.mode & 0o7777).toString(8)})`
  // Above it, a directory others may write to could have ours renamed away, unless it is sticky (like /tmp).
  for (let above = dirname(real); ; above = dirname(above)) {
    const s = lstatSync(above)
    if (s.uid !== 0 && s.uid !== OWNER) return `${above}, above ${dir}, belongs to uid ${s.uid}`
    if ((s.mode & 0o022) !== 0 && (s.mode & 0o1000) === 0) return `${above}, above ${dir}, is writable by others`
    if (above === '/') return undefined
  }
}

function refuse(what: string, why: string): never {
  throw new EfsHomeError('UNSAFE_PATH', `${what}: ${why}; make it root's own and writable by root only`)
}

/** Why `dir` cannot be trusted, or undefined when it can; a missing one is fine (it will be created, ours). */
export function dirProblem(dir: string): string | undefined {
  try {
    return untrustedBecause(dir)
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? undefined : oneLine(err)
  }
}

/** Throws when `dir` exists and could be changed by someone else. */
export function checkTrustedDir(dir: string, what: string): void {
  const why = dirProblem(dir)
  if (why !== undefined) refuse(what, why)
}

/** Creates `dir` (0755) if need be and throws unless it is ours alone. */
export function makeTrustedDir(dir: string, what: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  checkTrustedDir(dir, what)
}

/** Opens `file` without following a link or waiting on a FIFO; throws unless it is a regular file. */
function openRegular(file: string, flags: number, mode?: number): number {
  let fd: number
  try {
    fd = openSync(file, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode)
  } catch (err) {
    if (errnoCode(err) === 'ELOOP') refuse(file, 'is a symbolic link')
    throw err
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd)
    refuse(file, 'is not a regular file')
  }
  return fd
}

/** A file's bytes (at most `limit`), or undefined when it does not exist. */
export function readTrustedFile(file: string, limit = 64 << 20): Buffer | undefined {
  let fd: number
  try {
    fd = openRegular(file, constants.O_RDONLY)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw err
  }
  try {
    const size = Math.min(fstatSync(fd).size, limit)
    const buffer = Buffer.alloc(size)
    let got = 0
    while (got < size) {
      const n = readSync(fd, buffer, got, size - got, got)
      if (n === 0) break
      got += n
    }
    return buffer.subarray(0, got)
  } finally {
    closeSync(fd)
  }
}

/** A file descriptor for appending to a log: a regular file, created 0640 if absent, never through a link. */
export function openTrustedLog(file: string): number {
  return openRegular(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640)
}
