// A lock between processes: a directory created atomically with mkdir. A lock
// left by a process that died is taken over once it is older than `staleMs`.

import { mkdirSync, rmSync, statSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { EfsHomeError, errnoCode } from '../errors.js'

export function tryLock(path: string, staleMs: number): boolean {
  try {
    mkdirSync(path)
    return true
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err
  }
  try {
    if (Date.now() - statSync(path).mtimeMs > staleMs) {
      rmSync(path, { recursive: true, force: true })
      mkdirSync(path)
      return true
    }
  } catch {
    // another process took it over first
  }
  return false
}

export function unlock(path: string): void {
  rmSync(path, { recursive: true, force: true })
}

/** Runs `work` holding the lock, waiting at most `waitMs` for it. */
export async function withLock<T>(path: string, waitMs: number, work: () => T | Promise<T>, staleMs = 10_000): Promise<T> {
  const until = Date.now() + waitMs
  while (!tryLock(path, staleMs)) {
    if (Date.now() > until)
      throw new EfsHomeError(
        'LOCK',
        `lock ${path} still held after ${(waitMs / 1000).toFixed(1)} s; if no efs-home process is running, remove it`,
      )
    await sleep(20)
  }
  try {
    return await work()
  } finally {
    unlock(path)
  }
}
