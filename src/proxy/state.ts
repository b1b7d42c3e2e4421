// A running proxy's state file, [proxy] state_dir/proxy-<fs_id>.json,
// written by the proxy itself: who it is, where it listens and connects,
// and its counters. A state file proves nothing on its own: the process
// must be alive, root's, the very process that wrote it (PID and start
// time), and hold the port.

import { join } from 'node:path'
import type { Config } from '../config/load.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { isLiveRootProcess } from '../util/process-identity.js'
import { checkTrustedDir, readTrustedFile } from '../util/trusted-files.js'
import { listenersOn, socketInodes } from './listeners.js'
import type { ClientStatus } from './client-identity.js'

export interface ProxyState {
  readonly fsId: string
  readonly port: number
  readonly pid: number
  /** The proxy's start time (/proc/PID/stat), which a recycled PID does not share. */
  readonly startTime: string
  readonly supervisorPid: number | undefined
  readonly target: string
  /** Seconds since the epoch. */
  readonly started: number
  readonly connections: { readonly open: number; readonly total: number }
  readonly bytes: { readonly toEfs: number; readonly fromEfs: number }
  /** The client certificate it presents (IAM, access point), if any. */
  readonly client?: ClientStatus
}

export function statePath(config: Config, fsId: string): string {
  return join(config.proxy.state_dir, `proxy-${fsId}.json`)
}

export function readState(config: Config, fsId: string): ProxyState | undefined {
  try {
    // A state file in a directory others can write to could name their process as the proxy.
    checkTrustedDir(config.proxy.state_dir, '[proxy] state_dir')
    const state = JSON.parse(readTrustedFile(statePath(config, fsId))?.toString('utf8') ?? 'null') as ProxyState
    return state.fsId === fsId && Number.isInteger(state.pid) && typeof state.startTime === 'string' && Number.isInteger(state.port)
      ? state
      : undefined
  } catch {
    return undefined
  }
}

export function writeState(config: Config, state: ProxyState): void {
  writeFileAtomic(statePath(config, state.fsId), `${JSON.stringify(state)}\n`)
}

/** Is the process that wrote `state` still running (not a recycled PID, not someone else's)? */
export function isLiveProxy(state: ProxyState): boolean {
  return isLiveRootProcess({ pid: state.pid, startTime: state.startTime })
}

export type Health =
  | { readonly ok: true; readonly state: ProxyState }
  /** squatted: a non-root process listens on the port; waiting will not help. */
  | { readonly ok: false; readonly why: string; readonly squatted: boolean }

/** Whether `fsId`'s proxy is up on `port`: alive, ours, and the only listener there. */
export function proxyHealth(config: Config, fsId: string, port: number): Health {
  const state = readState(config, fsId)
  const listeners = listenersOn(port)
  const ours = state !== undefined && state.port === port && isLiveProxy(state) ? socketInodes(state.pid) : new Set<string>()
  const foreign = listeners.find((l) => !ours.has(l.inode))
  // A root listener that is not (yet) ours is a proxy starting up; anyone else's is an attack or a clash.
  if (foreign !== undefined && foreign.uid !== 0) {
    return {
      ok: false,
      why: `port ${port} is held by another process (uid ${foreign.uid}); the proxy cannot be trusted there`,
      squatted: true,
    }
  }
  if (state === undefined) return { ok: false, why: 'not running (no state file)', squatted: false }
  if (state.port !== port) return { ok: false, why: `its state names port ${state.port}, not ${port}`, squatted: false }
  if (ours.size === 0) return { ok: false, why: `its PID ${state.pid} is gone (stale state file)`, squatted: false }
  if (listeners.length === 0 || foreign !== undefined)
    return { ok: false, why: `it is not listening on 127.0.0.1:${port}`, squatted: false }
  return { ok: true, state }
}
