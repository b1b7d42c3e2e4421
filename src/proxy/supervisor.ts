// Where systemd does not run the proxy (efs-home-proxy@.service with
// Restart=always), this does: it runs the proxy as a child and starts it
// again whenever it dies, so `hard` NFS mounts waiting on it recover
// without a lookup.

import { type ChildProcess, spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * How node runs the proxy, here and in efs-home-proxy@.service (a test keeps
 * the two equal). A 1 MiB young generation frees short-lived buffers sooner;
 * no V8 helper threads saves 3 to 4 MB of resident memory (their malloc
 * arenas) for a process whose JavaScript work is small and steady.
 */
export const PROXY_NODE_FLAGS = ['--max-semi-space-size=1', '--single-threaded'] as const

export interface SupervisorOptions {
  readonly command: string
  readonly args: readonly string[]
  readonly log: (line: string) => void
}

// A proxy that ran a while and then died comes back at once (NFS waits on
// it); only one that keeps dying soon after starting backs off, doubling.
const FIRST_BACKOFF_MS = 250
const MAX_BACKOFF_MS = 5000
const STEADY_MS = 2000

export async function supervise(options: SupervisorOptions): Promise<void> {
  let stopping = false
  let child: ChildProcess | undefined
  const stop = () => {
    stopping = true
    child?.kill('SIGTERM')
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  let quickDeaths = 0
  while (!stopping) {
    const started = Date.now()
    child = spawn(options.command, [...options.args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, EFS_HOME_SUPERVISOR_PID: String(process.pid) },
    })
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child?.once('exit', (c, s) => resolve([c, s])))
    if (stopping) break
    quickDeaths = Date.now() - started > STEADY_MS ? 0 : quickDeaths + 1
    const backoff = Math.min(FIRST_BACKOFF_MS * 2 ** Math.max(0, quickDeaths - 1), MAX_BACKOFF_MS)
    options.log(`proxy exited (${signal ?? `status ${code}`}); starting it again in ${backoff} ms`)
    await sleep(backoff)
  }
}
