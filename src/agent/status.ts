// How the lookup agent is doing, as `efs-home agent status` and
// `efs-home doctor` report it.

import { AGENT, bindableByAnyone } from '../util/privileged-port.js'
import { askAgent, type MapSettings } from './client.js'
import { unsafeAgentDir } from './files.js'

export type AgentStatus =
  | {
      readonly up: true
      readonly pid: number
      readonly config: string
      readonly port: number
      readonly resident: boolean
      readonly started: number
      readonly answered: number
      /** Of them, asked by the thin map (maps/efs-home-map) and by the Node map. */
      readonly answeredThin: number
      readonly answeredNode: number
      /** Questions without the ask key (not root's), closed unanswered. */
      readonly refused: number
      readonly rssMb: number
    }
  /**
   * absent: nobody listens, which is normal (the next lookup starts it);
   * unsafe: the agent's directory is not root's alone, or any user may bind its port;
   * unresponsive: no usable answer.
   */
  | { readonly up: false; readonly state: 'absent' | 'unsafe' | 'unresponsive'; readonly problem: string }

/** Why lookups must not use an agent with these settings, or undefined when they may. */
export function agentUnsafe(settings: Pick<MapSettings, 'agent_dir' | 'agent_port'>): string | undefined {
  const dir = unsafeAgentDir(settings.agent_dir)
  return dir ?? bindableByAnyone(settings.agent_port, AGENT)
}

export async function agentStatus(settings: Pick<MapSettings, 'agent_dir' | 'agent_port'>, ms: number): Promise<AgentStatus> {
  const unsafe = agentUnsafe(settings)
  if (unsafe !== undefined) return { up: false, state: 'unsafe', problem: `not used: ${unsafe}` }
  const asked = await askAgent(settings, { kind: 'status' }, ms)
  if (asked.kind === 'absent') return { up: false, state: 'absent', problem: 'not running (the next lookup starts it)' }
  if (asked.kind === 'unresponsive') return { up: false, state: 'unresponsive', problem: `not answering: ${asked.why}` }
  if (!asked.answer.ok) return { up: false, state: 'unresponsive', problem: 'answered the status question with an error' }
  return { up: true, ...(JSON.parse(asked.answer.text) as Omit<Extract<AgentStatus, { up: true }>, 'up'>) }
}
