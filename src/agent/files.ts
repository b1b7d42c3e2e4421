// The agent's files, all in [home] agent_dir: the PID file, the keys that
// prove a question is root's and an answer the agent's, the log, and the
// locks a lookup and an agent hold while one comes up.

import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isIdentity, isLiveRootProcess, type ProcessIdentity } from '../util/process-identity.js'
import { dirProblem, readTrustedFile } from '../util/trusted-files.js'

export const agentFiles = (dir: string) => ({
  pid: join(dir, 'agent.pid'),
  keys: join(dir, 'agent.keys'),
  log: join(dir, 'agent.log'),
  starting: join(dir, 'agent.starting'),
  binding: join(dir, 'agent.binding'),
})

/** The PID file's content: `PID START_TIME`, the agent's identity (src/util/process-identity.ts). */
export function pidFileText(me: ProcessIdentity): string {
  return `${me.pid} ${me.startTime}\n`
}

/** The identity an agent's PID file records, whoever it names now. */
export function readPidFile(file: string): ProcessIdentity | undefined {
  try {
    const [pid, startTime] = readFileSync(file, 'utf8').trim().split(' ')
    const id = { pid: Number(pid), startTime }
    return isIdentity(id) ? id : undefined
  } catch {
    return undefined
  }
}

/** The agent's PID, while the process its PID file names is alive, root's and the same one (not a recycled PID). */
export function agentPid(dir: string): number | undefined {
  const id = readPidFile(agentFiles(dir).pid)
  return isLiveRootProcess(id) ? id?.pid : undefined
}

/**
 * Two secrets, new with each agent, in a file only root can read: a question
 * must carry `ask` (so only root gets answers; a TCP peer has no SO_PEERCRED),
 * and every answer starts with `answer` (so a map knows the agent wrote it,
 * not another process that got hold of the port, even one that was asked and
 * so learnt `ask`).
 */
export interface AgentKeys {
  readonly ask: string
  readonly answer: string
}

const KEY_RE = /^[0-9a-f]{64}$/

export function newKeys(): AgentKeys {
  return { ask: randomBytes(32).toString('hex'), answer: randomBytes(32).toString('hex') }
}

/** The file's one line: `ASK ANSWER`, which bash splits with one read. */
export const keysFileText = (keys: AgentKeys) => `${keys.ask} ${keys.answer}\n`

/** The keys of the agent that last started in `dir`, or undefined when there are none (or they are not keys). */
export function readKeys(dir: string): AgentKeys | undefined {
  try {
    const [ask, answer, ...rest] = (readTrustedFile(agentFiles(dir).keys, 256)?.toString('utf8') ?? '').trim().split(' ')
    return ask !== undefined && answer !== undefined && rest.length === 0 && KEY_RE.test(ask) && KEY_RE.test(answer)
      ? { ask, answer }
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Why the agent's directory cannot be trusted, if it cannot: whoever may
 * create files there could replace the keys and the PID file.
 */
export function unsafeAgentDir(dir: string): string | undefined {
  // Not there yet is fine: whoever starts the agent creates it, theirs.
  return dirProblem(dir)
}
