// How the lookup agent is doing, as `efs-home agent status` and
// `efs-home doctor` report it.

import { askAgent } from './client.js'
import { unsafeSocketDir } from './files.js'

export type AgentStatus =
  | {
      readonly up: true
      readonly pid: number
      readonly config: string
      readonly started: number
      readonly answered: number
      readonly rssMb: number
    }
  /** absent: nobody listens, which is normal (the next lookup starts it); unsafe: the socket's directory is not root's alone; unresponsive: no usable answer. */
  | { readonly up: false; readonly state: 'absent' | 'unsafe' | 'unresponsive'; readonly problem: string }

export async function agentStatus(socketPath: string, ms: number): Promise<AgentStatus> {
  const unsafe = unsafeSocketDir(socketPath)
  if (unsafe !== undefined) return { up: false, state: 'unsafe', problem: `not used: ${unsafe}` }
  const asked = await askAgent(socketPath, { kind: 'status' }, ms)
  if (asked.kind === 'absent') return { up: false, state: 'absent', problem: 'not running (the next lookup starts it)' }
  if (asked.kind === 'unresponsive') return { up: false, state: 'unresponsive', problem: `not answering: ${asked.why}` }
  if (!asked.answer.ok) return { up: false, state: 'unresponsive', problem: 'answered the status question with an error' }
  return {
    up: true,
    ...(JSON.parse(asked.answer.text) as { pid: number; config: string; started: number; answered: number; rssMb: number }),
  }
}
