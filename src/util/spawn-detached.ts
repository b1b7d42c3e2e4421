// Starting a long-lived helper (the lookup agent, a proxy's supervisor) from
// a short-lived process: detached in a session of its own so it outlives
// the lookup that started it, its output appended to its log.

import { spawn } from 'node:child_process'
import { closeSync } from 'node:fs'
import { openTrustedLog } from './trusted-files.js'

export function spawnDetached(argv: readonly [string, ...string[]], log: string, env: NodeJS.ProcessEnv): void {
  // Never through a link: root appending to whatever a link names could be any file.
  const fd = openTrustedLog(log)
  try {
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env })
    child.unref()
  } finally {
    closeSync(fd)
  }
}
