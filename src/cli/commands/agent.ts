// efs-home agent run | status | stop

import { type MapSettings, readMapSettings } from '../../agent/client.js'
import { agentPid } from '../../agent/files.js'
import { agentStatus } from '../../agent/status.js'
import { configFilePath, readConfigText } from '../../config/ini-file.js'
import { EXIT } from '../exit.js'
import type { Output } from '../output.js'
import { serviceLog } from '../../util/service-log.js'

export type AgentAction = 'run' | 'status' | 'stop'

async function status(settings: MapSettings, json: boolean, out: Output): Promise<number> {
  const where = `127.0.0.1:${settings.agent_port}`
  if (!settings.agent) {
    const off = 'off ([home] agent = false): efs-home-map does every lookup itself'
    out.out(json ? JSON.stringify({ port: settings.agent_port, up: false, state: 'off', problem: off }, null, 2) : `agent: ${off}`)
    return EXIT.ok
  }
  const s = await agentStatus(settings, 2000)
  if (json) out.out(JSON.stringify({ port: settings.agent_port, ...s }, null, 2))
  else if (!s.up) out.out(`agent on ${where}: ${s.problem}`)
  else
    out.out(
      [
        `agent pid ${s.pid} on ${where} for ${s.config}${s.resident ? ' (resident, run by systemd)' : ' (started by a lookup)'}: up ${Math.floor(Date.now() / 1000) - s.started} s, ${s.rssMb} MB resident`,
        `answered ${s.answered} lookups: ${s.answeredThin} for the thin map (the fast path), ${s.answeredNode} for the Node map`,
        ...(s.refused > 0 ? [`refused ${s.refused} connections that were not root's`] : []),
      ].join('\n'),
    )
  return s.up || s.state === 'absent' ? EXIT.ok : EXIT.no
}

export async function agentCommand(action: AgentAction, options: { json: boolean; resident: boolean }, out: Output): Promise<number> {
  const file = configFilePath()
  if (action === 'run') {
    const { runAgent } = await import('../../agent/agent.js')
    return await runAgent(file, { resident: options.resident, log: serviceLog('efs-home-agent', (text) => out.err(text)) })
  }
  const settings = readMapSettings(file, readConfigText(file))
  if (action === 'status') return await status(settings, options.json, out)
  const pid = agentPid(settings.agent_dir)
  if (pid === undefined) {
    out.out(`agent on 127.0.0.1:${settings.agent_port}: not running`)
    return EXIT.ok
  }
  process.kill(pid, 'SIGTERM')
  out.out(`agent on 127.0.0.1:${settings.agent_port}: stopped (PID ${pid})`)
  return EXIT.ok
}
