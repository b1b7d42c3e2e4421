// The thin map (maps/efs-home-map, bash) reads five [home] keys itself. For
// every form it reads, it must come to what the Node map computes (the
// agent's port, the time it waits, the deadline it gives the agent); for
// every form it does not, it must hand the lookup to the Node map. Checked
// against a listener that plays the agent (its PID file and keys in place)
// and records each question.

import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agentDeadlineMs, agentWaitMs, readMapSettings } from '../src/agent/client.js'
import { keysFileText, newKeys, pidFileText } from '../src/agent/files.js'
import { identityOf } from '../src/util/process-identity.js'
import { killAgentsFor } from './fixtures/agents.js'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { spawnReady, waitFor } from './fixtures/processes.js'
import { mapEnv, ROOT, runMap } from './fixtures/run.js'

const ENTRY = '-fstype=nfs,vers=4,nosuid,nodev stand-in:/export/u1'

/** The thin map's lookup of u1 with `home` in [home]: which map asked, the deadline it gave, what it printed. */
async function ask(home: string) {
  const { file, dir } = writeConfig(t, siteConfig(['ldap://127.0.0.1:1'], '{dir}', `[home]\n${home}\n`))
  const settings = readMapSettings(file, readFileSync(file, 'utf8'))
  const keys = newKeys()
  const standIn = await spawnReady(t, 'the stand-in agent', [
    process.execPath,
    join(ROOT, 'test/fixtures/impostor.mjs'),
    '127.0.0.1',
    String(settings.agent_port),
    `${keys.answer} ok ${ENTRY}`,
  ])
  let asked = ''
  standIn.stdout?.on('data', (d: Buffer) => (asked += d.toString()))
  mkdirSync(settings.agent_dir, { mode: 0o755 })
  writeFileSync(join(settings.agent_dir, 'agent.keys'), keysFileText(keys), { mode: 0o600 })
  writeFileSync(join(settings.agent_dir, 'agent.pid'), pidFileText(identityOf(standIn.pid!)!))
  const r = await runMap('thin', ['u1'], mapEnv(file))
  const line = await waitFor('the question', () => /^asked: (.*)$/m.exec(asked)?.[1])
  standIn.kill('SIGKILL')
  killAgentsFor(file)
  const [, , via, deadlineMs] = line.split(' ')
  return { r, via, deadlineMs: Number(deadlineMs), expected: agentDeadlineMs(agentWaitMs(settings)), dir }
}

for (const home of [
  '',
  'agent_wait = 1',
  'deadline = 3',
  'deadline = 2.5s\nagent_wait = 0.75',
  'deadline = 1m',
  'deadline = 3.25 s',
  'deadline = 3 ; short\nagent_wait = 10s   # longer than it may be',
  'agent = Yes',
  '  agent_wait=4',
]) {
  t.test(`the thin map reads ${JSON.stringify(home)} as the Node map does`, async (t) => {
    const { r, via, deadlineMs, expected } = await ask(home)
    t.same(r, { code: 0, stdout: `${ENTRY}\n`, stderr: '' }, 'the answer, printed')
    t.equal(via, 'thin', 'asked by the thin map')
    t.equal(deadlineMs, expected, 'the deadline the Node map would give the agent')
  })
}

for (const home of ['agent_wait = "2"', 'deadline = 4.0001', 'deadline = 2.5000']) {
  t.test(`a form the thin map does not read, ${JSON.stringify(home)}: the Node map asks`, async (t) => {
    const { r, via, deadlineMs, expected } = await ask(home)
    t.same(r, { code: 0, stdout: `${ENTRY}\n`, stderr: '' })
    t.equal(via, 'node', 'handed to the Node map, which asked')
    t.equal(deadlineMs, expected)
  })
}
