// efs-home agent run | status | stop

import { askAgent, readMapSettings } from '../../agent/client.js'
import { agentPid, unsafeSocketDir } from '../../agent/files.js'
import { configFilePath, readConfigText } from '../../config/ini-file.js'
import { oneLine } from '../../errors.js'
import type { Output } from '../output.js'

export type AgentAction = 'run' | 'status' | 'stop'

const stamp = (line: string) => `${new Date().toISOString()} ${line}`

async function status(socketPath: string, json: boolean, out: Output): Promise<number> {
  const unsafe = unsafeSocketDir(socketPath)
  if (unsafe !== undefined) {
    if (json) out.out(JSON.stringify({ socket: socketPath, up: false, problem: `not used: ${unsafe}` }, null, 2))
    else out.out(`agent on ${socketPath}: not used: ${unsafe}`)
    return 1
  }
  const asked = await askAgent(socketPath, { kind: 'status' }, 2000)
  if (asked.kind !== 'answer' || !asked.answer.ok) {
    const why =
      asked.kind === 'absent' ? 'not running (the next lookup starts it)' : asked.kind === 'unresponsive' ? `not answering: ${asked.why}` : 'answered the status question with an error'
    if (json) out.out(JSON.stringify({ socket: socketPath, up: false, problem: why }, null, 2))
    else out.out(`agent on ${socketPath}: ${why}`)
    return asked.kind === 'absent' ? 0 : 1
  }
  const s = JSON.parse(asked.answer.text) as { pid: number; config: string; started: number; answered: number; rssMb: number }
  if (json) out.out(JSON.stringify({ socket: socketPath, up: true, ...s }, null, 2))
  else out.out(`agent pid ${s.pid} on ${socketPath} for ${s.config}: up ${Math.floor(Date.now() / 1000) - s.started} s, ${s.answered} lookups answered, ${s.rssMb} MB resident`)
  return 0
}

export async function agentCommand(action: AgentAction, json: boolean, out: Output): Promise<number> {
  try {
    const file = configFilePath()
    if (action === 'run') return await (await import('../../agent/agent.js')).runAgent(file, (line) => out.err(stamp(line)))
    const { agent_socket: socketPath } = readMapSettings(file, readConfigText(file))
    if (action === 'status') return await status(socketPath, json, out)
    const pid = agentPid(socketPath)
    if (pid === undefined) {
      out.out(`agent on ${socketPath}: not running`)
      return 0
    }
    process.kill(pid, 'SIGTERM')
    out.out(`agent on ${socketPath}: stopped (PID ${pid})`)
    return 0
  } catch (err) {
    out.err(`efs-home: agent ${action}: ${oneLine(err)}`)
    return 1
  }
}
