// Drills on the TLS proxy with real NFS (libnfs -> proxy -> stunnel ->
// nfs-ganesha, in a network namespace): the proxy SIGKILLed again and again
// during a large transfer; fifty logins at once on one file system; and many
// lookups in a row, watched for leaks.

import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { netnsPids } from '../fixtures/netns.js'
import { waitFor } from '../fixtures/processes.js'
import { agentPid as runningAgent } from '../../src/agent/files.js'
import { rssMb } from '../fixtures/proc.js'
import { MAP_BIN } from '../fixtures/run.js'
import type { Owner } from '../fixtures/scratch.js'
import { startSlapd } from '../fixtures/slapd.js'
import { FS_ID, nfsUrl, proxyProcesses, proxyState, type Rig, startRig } from '../fixtures/tls-rig.js'
import type { DrillResult } from './drills.js'
import { storm } from './storm.js'

const FILE_MB = 64
// A read that fails is tried again after a pause, as an NFS client retries
// (timeo): long enough in all for the supervisor to bring the proxy back.
const MAX_ATTEMPTS = 30
const RETRY_PAUSE_MS = 250

/** sha256 of what `nfs-cat` reads through the proxy, or undefined when the read fails. */
function readThrough(rig: Rig, port: number, path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(rig.ns.exec[0]!, [...rig.ns.exec.slice(1), 'nfs-cat', nfsUrl(port, path)], { stdio: ['ignore', 'pipe', 'ignore'] })
    const hash = createHash('sha256')
    child.stdout.on('data', (chunk: Buffer) => hash.update(chunk))
    child.on('close', (code) => resolve(code === 0 ? hash.digest('hex') : undefined))
  })
}

async function proxyBack(rig: Rig, oldPid: number): Promise<number> {
  return waitFor('the proxy to come back', () => {
    try {
      const state = proxyState(rig)
      return state.pid !== oldPid ? state.pid : undefined
    } catch {
      return undefined
    }
  })
}

/** `gib` GiB in 64 MiB files, each read until its checksum is right, while the proxy is SIGKILLed every `killEverySeconds`. */
export async function killDuringTransfer(owner: Owner, gib: number, killEverySeconds: number): Promise<DrillResult> {
  const rig = await startRig(owner, { role: 'kill' })
  const files = Array.from({ length: Math.max(1, Math.round((gib * 1024) / FILE_MB)) }, (_, i) => {
    const data = randomBytes(FILE_MB << 20)
    writeFileSync(join(rig.exportDir, `part${i}.bin`), data)
    return { path: `/part${i}.bin`, sha256: createHash('sha256').update(data).digest('hex') }
  })
  const port = Number((await rig.efsHome(['proxy', 'ensure', FS_ID])).stdout.trim())
  let kills = 0
  let stop = false
  const killer = (async () => {
    while (!stop) {
      await sleep(killEverySeconds * 1000)
      if (stop) break
      const { pid } = proxyState(rig)
      process.kill(pid, 'SIGKILL')
      kills++
      await proxyBack(rig, pid)
    }
  })()
  let retries = 0
  let unreadable = 0
  let wrong = 0
  try {
    for (const file of files) {
      let attempt = 0
      for (; attempt < MAX_ATTEMPTS; attempt++) {
        const sha256 = await readThrough(rig, port, file.path)
        if (sha256 === file.sha256) break
        // A read that "succeeded" with other bytes would be corruption, not a retry.
        if (sha256 !== undefined) wrong++
        retries++
        await sleep(RETRY_PAUSE_MS)
      }
      if (attempt === MAX_ATTEMPTS) unreadable++
    }
  } finally {
    stop = true
    await killer
  }
  await waitFor('the proxy to be up', async () => ((await rig.efsHome(['proxy', 'status'])).code === 0 ? true : undefined))
  const processes = proxyProcesses(rig)
  const pass = unreadable === 0 && wrong === 0 && kills > 0 && processes.run === 1 && processes.supervise === 1
  return {
    name: `proxy SIGKILLed every ${killEverySeconds} s during a ${gib} GiB transfer`,
    pass,
    figures: {
      files: files.length,
      'MiB read': files.length * FILE_MB,
      kills,
      retries,
      'wrong checksums': wrong,
      unreadable,
      'proxy processes after': processes.run + processes.supervise,
    },
  }
}

interface Footprint {
  readonly 'proxy open files': number
  readonly 'agent open files': number
  readonly 'processes in the namespace': number
  readonly 'state files': number
}

const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length

/** The lookup agent's PID, as efs-home itself finds it in the rig's agent_dir. */
function agentPid(rig: Rig): number {
  const pid = runningAgent(join(rig.dir, 'run'))
  if (pid === undefined) throw new Error(`no lookup agent runs for ${rig.config}`)
  return pid
}

function footprint(rig: Rig): Footprint {
  const { pid, supervisorPid } = proxyState(rig)
  return {
    'proxy open files': fds(pid) + fds(supervisorPid),
    'agent open files': fds(agentPid(rig)),
    'processes in the namespace': netnsPids(rig.ns).length,
    'state files': readdirSync(join(rig.dir, 'run')).length,
  }
}

/** Fifty logins at once for fresh users on one TLS file system, then `lookups` more in a row, watched for leaks. */
export async function loginsOnOneFileSystem(owner: Owner, lookups: number): Promise<DrillResult[]> {
  const rig = await startRig(owner, { role: 'grow', deadline: 60 })
  const users = Array.from({ length: 200 }, (_, i) => ({ uid: `t${i}`, home: `/import/${FS_ID}/1/t${i}` }))
  await startSlapd(owner, users, { netns: rig.ns, host: '127.0.0.1' })
  const inNs = [...rig.ns.exec, 'env', '-u', 'NODE_OPTIONS', `EFS_HOME_CONFIG=${rig.config}`, 'EFS_HOME_TEST_TARGET_PORT=3049', MAP_BIN]
  const env = { PATH: process.env.PATH }
  const fifty = await storm(
    inNs,
    env,
    users.slice(0, 50).map((u) => u.uid),
    50,
  )
  const processes = proxyProcesses(rig)
  const results: DrillResult[] = [
    {
      name: '50 concurrent lookups for fresh users on one TLS file system',
      pass: fifty.failed === 0 && processes.run === 1 && processes.supervise === 1,
      figures: {
        lookups: 50,
        answered: fifty.answered,
        failed: fifty.failed,
        'proxy processes': processes.run,
        supervisors: processes.supervise,
      },
    },
  ]
  await waitFor('the lookup agent', () => runningAgent(join(rig.dir, 'run')))
  await storm(
    inNs,
    env,
    users.slice(0, 10).map((u) => u.uid),
    1,
  )
  const before = footprint(rig)
  const rssBefore = rssMb(agentPid(rig))
  const keys = Array.from({ length: lookups }, (_, i) => users[i % users.length]!.uid)
  const run = await storm(inNs, env, keys, 1)
  const after = footprint(rig)
  const grew = (Object.keys(before) as (keyof Footprint)[]).filter((k) => after[k] > before[k])
  results.push({
    name: `${lookups} lookups in a row`,
    pass: run.failed === 0 && grew.length === 0,
    figures: {
      answered: run.answered,
      failed: run.failed,
      ...Object.fromEntries(Object.keys(before).map((k) => [k, `${before[k as keyof Footprint]} -> ${after[k as keyof Footprint]}`])),
      'agent RSS': `${rssBefore.toFixed(0)} -> ${rssMb(agentPid(rig)).toFixed(0)} MB`,
    },
  })
  return results
}
