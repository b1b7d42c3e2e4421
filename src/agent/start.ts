// Starting the lookup agent from a lookup that found none, and retiring one
// that stopped answering. Loaded only on that path.

import { rmSync } from 'node:fs'
import { tryLock } from '../util/lock.js'
import { packageFile } from '../util/package-files.js'
import { spawnDetached } from '../util/spawn-detached.js'
import { makeTrustedDir } from '../util/trusted-files.js'
import { agentFiles, agentPid } from './files.js'

/**
 * How node runs the agent, here and in efs-home-agent.service (a test keeps
 * the two equal). A 1 MB young generation: a lookup's garbage is small and
 * short-lived, and the agent stays some 20 MB smaller. --optimize-for-size:
 * V8 collects the old generation sooner instead of growing it: while its
 * cache first fills with 20,000 users the agent's high-water mark stays
 * near 70 MB instead of 90-115 (test/bench/results/2026-12-02-soak-*.json).
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size'] as const

// A start that has not produced a listening agent by then is tried again.
const START_LOCK_STALE_MS = 10_000

/** Starts an agent for `configFile` in the background, unless another lookup is already starting one. */
export function startAgent(configFile: string, dir: string): void {
  const files = agentFiles(dir)
  makeTrustedDir(dir, 'the [home] agent_dir directory')
  // Held until the agent listens (it removes it): a storm starts one agent, not fifty.
  if (!tryLock(files.starting, START_LOCK_STALE_MS)) return
  spawnDetached([process.execPath, ...AGENT_NODE_FLAGS, packageFile('dist', 'src', 'bin', 'efs-home.js'), 'agent', 'run'], files.log, {
    ...process.env,
    EFS_HOME_CONFIG: configFile,
  })
}

/** Kills an agent that accepts but does not answer, and clears its files for the next one. */
export function retireAgent(dir: string): void {
  const pid = agentPid(dir)
  if (pid !== undefined) process.kill(pid, 'SIGKILL')
  const files = agentFiles(dir)
  rmSync(files.keys, { force: true })
  rmSync(files.pid, { force: true })
}
