// efs-home agent run | status | stop

import { readMapSettings } from '../../agent/client.js'
import { agentPid } from '../../agent/files.js'
import { agentStatus } from '../../agent/status.js'
import { configFilePath, readConfigText } from '../../config/ini-file.js'
import { EXIT } from '../exit.js'
import type { Output } from '../output.js'
import { timestamped } from '../../util/log-line.js'

export type AgentAction = 'run' | 'status' | 'stop'

async function status(socketPath: string, json: boolean, out: Output): Promise<number> {
  const s = await agentStatus(socketPath, 2000)
  if (json) out.out(JSON.stringify({ socket: socketPath, ...s }, null, 2))
  else if (!s.up) out.out(`agent on ${socketPath}: ${s.problem}`)
  else
    out.out(
      `agent pid ${s.pid} on ${socketPath} for ${s.config}: up ${Math.floor(Date.now() / 1000) - s.started} s, ${s.answered} lookups answered, ${s.rssMb} MB resident`,
    )
  return s.up || s.state === 'absent' ? EXIT.ok : EXIT.no
}

export async function agentCommand(action: AgentAction, json: boolean, out: Output): Promise<number> {
  const file = configFilePath()
  if (action === 'run') return await (await import('../../agent/agent.js')).runAgent(file, (line) => out.err(timestamped(line)))
  const { agent_socket: socketPath } = readMapSettings(file, readConfigText(file))
  if (action === 'status') return await status(socketPath, json, out)
  const pid = agentPid(socketPath)
  if (pid === undefined) {
    out.out(`agent on ${socketPath}: not running`)
    return EXIT.ok
  }
  process.kill(pid, 'SIGTERM')
  out.out(`agent on ${socketPath}: stopped (PID ${pid})`)
  return EXIT.ok
}
