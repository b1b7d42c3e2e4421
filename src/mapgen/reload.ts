// Telling automount to re-read its maps after /etc/auto.static changed:
// SIGHUP to the daemon named in its pid file, or `systemctl reload autofs`.

import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { EfsHomeError, oneLine } from '../errors.js'

export type ReloadResult = 'signalled' | 'systemctl' | 'not running'

export function reloadAutomount(pidFile: string): ReloadResult {
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim())
    let comm = ''
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
    } catch {
      // no such process: a stale pid file
    }
    if (Number.isInteger(pid) && pid > 1 && comm === 'automount') {
      process.kill(pid, 'SIGHUP')
      return 'signalled'
    }
  }
  if (existsSync('/run/systemd/system')) {
    try {
      execFileSync('systemctl', ['reload', 'autofs'], { stdio: 'pipe', timeout: 30000 })
      return 'systemctl'
    } catch (err) {
      throw new EfsHomeError('RELOAD', `systemctl reload autofs failed: ${oneLine((err as { stderr?: Buffer }).stderr?.toString() || err)}`)
    }
  }
  return 'not running'
}
