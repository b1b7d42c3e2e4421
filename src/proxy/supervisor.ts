// Where systemd does not run the proxy (efs-home-proxy@.service with
// Restart=always), this does: it runs the proxy as a child and starts it
// again whenever it dies, so `hard` NFS mounts waiting on it recover
// without a lookup.

import { type ChildProcess, spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ServiceLog } from '../util/service-log.js'

/**
 * How node runs the proxy, here and in efs-home-proxy@.service (a test keeps
 * the two equal). A small young generation frees short-lived buffers sooner;
 * no V8 helper threads spares their malloc arenas, for a process whose
 * JavaScript work is small and steady.
 */
export const PROXY_NODE_FLAGS = ['--max-semi-space-size=1', '--single-threaded'] as const

export interface SupervisorOptions {
  readonly command: string
  readonly args: readonly string[]
  readonly log: ServiceLog
  /** The proxy exited with a reason before it had run a while (its last `efs-home: proxy run:` line). */
  readonly onStartFailure: (cause: string, attempts: number) => void
  /** The proxy has run a while: it started. */
  readonly onSteady: () => void
  /** Failed starts in a row after which a proxy that was never up is given up on. */
  readonly giveUpAfter: number
}

// A proxy that ran a while and then died comes back at once (NFS waits on
// it); only one that keeps dying soon after starting backs off, doubling.
const FIRST_BACKOFF_MS = 250
const MAX_BACKOFF_MS = 5000
const STEADY_MS = 2000
const REASON_RE = /^efs-home: proxy run: (.+)$/m

export type SupervisorEnd = 'stopped' | 'gave up'

/** Runs the proxy once; resolves with how it ended and the last reason it gave. */
function runOnce(
  options: SupervisorOptions,
  onStarted: (child: ChildProcess) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; reason: string | undefined }> {
  const child = spawn(options.command, [...options.args], {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, EFS_HOME_SUPERVISOR_PID: String(process.pid) },
  })
  onStarted(child)
  let reason: string | undefined
  // Everything the proxy says still goes to the log; its reason for exiting is kept.
  child.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk)
    reason = REASON_RE.exec(chunk.toString())?.[1] ?? reason
  })
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, reason })))
}

export async function supervise(options: SupervisorOptions): Promise<SupervisorEnd> {
  let stopping = false
  let child: ChildProcess | undefined
  const stop = () => {
    stopping = true
    child?.kill('SIGTERM')
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  let quickDeaths = 0
  let failedStarts = 0
  let everUp = false
  while (!stopping) {
    const started = Date.now()
    let steady: NodeJS.Timeout | undefined
    const ended = await runOnce(options, (c) => {
      child = c
      steady = setTimeout(() => {
        everUp = true
        failedStarts = 0
        options.onSteady()
      }, STEADY_MS)
    })
    clearTimeout(steady)
    if (stopping) break
    const quick = Date.now() - started <= STEADY_MS
    quickDeaths = quick ? quickDeaths + 1 : 0
    if (quick && ended.signal === null && ended.reason !== undefined) {
      failedStarts += 1
      options.onStartFailure(ended.reason, failedStarts)
      if (!everUp && failedStarts >= options.giveUpAfter) {
        options.log(
          `the proxy failed to start ${failedStarts} times and was never up: giving up (the next lookup tries again): ${ended.reason}`,
          'err',
        )
        return 'gave up'
      }
    }
    const backoff = Math.min(FIRST_BACKOFF_MS * 2 ** Math.max(0, quickDeaths - 1), MAX_BACKOFF_MS)
    options.log(`proxy exited (${ended.signal ?? `status ${ended.code}`}); starting it again in ${backoff} ms`, 'warning')
    await sleep(backoff)
  }
  return 'stopped'
}
