// The resident lookup agent: started by the first lookup (or run by systemd),
// answering the thin map (bash) and the Node map over loopback TCP with the
// same entries and errors as a lookup done in-process, re-reading an edited
// config, and replaced when it dies or hangs. (Whom it answers and whom the
// maps believe: agent-trust.test.ts.)

import t from 'tap'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AGENT_USERS as users, agentRig, agentsFor, lookUp } from './fixtures/agents.js'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { spawnOwned, waitFor } from './fixtures/processes.js'
import { EFS_HOME_BIN, MAPS, type MapKind, mapEnv, ROOT, runNode } from './fixtures/run.js'
import { AGENT_NODE_FLAGS } from '../src/agent/start.js'
import { startSlapd } from './fixtures/slapd.js'
import { BAD_KEYS } from './fixtures/bad-input.js'
import { loadConfig } from '../src/config/load.js'
import { agentCheck } from '../src/doctor/checks.js'
import { main } from '../src/cli/map.js'
import { runMain } from './fixtures/in-process.js'

const KINDS = Object.keys(MAPS) as MapKind[]
const { slapd, withAgent } = await agentRig(t)
const map = lookUp

t.test('the first lookup starts the agent; it answers both maps exactly as a lookup in-process would', async (t) => {
  const agent = withAgent()
  const { file: plain } = writeConfig(t, siteConfig([slapd.url], '{dir}', '[home]\nagent = false\n'))
  t.same((await agent.status()).up, false, 'no agent before the first lookup')
  t.match(
    await agentCheck(loadConfig(agent.file)),
    { ok: true, detail: /^not running on 127\.0\.0\.1:\d+; the next lookup starts it$/ },
    'doctor: none yet is fine',
  )
  t.equal((await map(agent.file, 'u1')).code, 0)
  const first = await agent.up()
  t.equal(first.port, agent.port)
  t.equal(statSync(join(agent.agentDir, 'agent.keys')).mode & 0o777, 0o600, 'the keys are root-only')
  const searches = slapd.searches()
  // A NUL cannot be in an argument automount passes.
  const keys = ['u0', 'u3', 'u4', 'nobody', 'evil', ...BAD_KEYS.filter((k) => !k.includes('\0'))]
  for (const key of keys) {
    // The Node map's own main(), in this process, with no agent: what either map must print.
    const alone = await runMain(main, [key], plain)
    const expected = {
      code: alone.code,
      stdout: alone.out === '' ? '' : `${alone.out}\n`,
      stderr: alone.err === '' ? '' : `${alone.err}\n`,
    }
    for (const kind of KINDS) t.same(await map(agent.file, key, kind), expected, `${kind}: ${JSON.stringify(key)}`)
  }
  // Each plausible name: searched once in-process and once per map through the agent; the rest never reach LDAP.
  t.equal(slapd.searches() - searches, 3 * 5, 'hostile keys never reach LDAP through either map')
  const after = await agent.status()
  t.equal(after.pid, first.pid, 'one agent answered them all')
  t.match(after, { answeredThin: 3, answeredNode: 3 }, 'the three users that have a home, through each map')
  t.match(
    await agentCheck(loadConfig(agent.file)),
    {
      ok: true,
      detail: new RegExp(
        `^PID ${first.pid} on 127\\.0\\.0\\.1:${agent.port} \\(started by a lookup\\): 6 lookups answered \\(3 for the thin map, 3 for the Node map\\), \\d+ MB resident$`,
      ),
    },
    'doctor: up, and which map its answers went to',
  )
  t.match(await runNode(EFS_HOME_BIN, ['agent', 'status'], mapEnv(agent.file)), {
    code: 0,
    stdout: /\(started by a lookup\).*\nanswered 6 lookups: 3 for the thin map \(the fast path\), 3 for the Node map\n$/,
  })
  t.same(agentsFor(plain), [], 'agent = false: no agent')
  const argv = readFileSync(`/proc/${first.pid}/cmdline`, 'utf8').split('\0')
  t.same(argv.slice(1, 1 + AGENT_NODE_FLAGS.length), AGENT_NODE_FLAGS, "a lookup starts the agent with the agent's node flags")
})

t.test('the systemd unit runs the agent with the same node flags as a lookup does', async (t) => {
  const unit = readFileSync(join(ROOT, 'templates', 'efs-home-agent.service'), 'utf8')
  const execStart = unit.split('\n').filter((line) => line.startsWith('ExecStart='))
  t.same(execStart, [`ExecStart=/usr/bin/env node ${AGENT_NODE_FLAGS.join(' ')} /usr/local/bin/efs-home agent run --resident`])
})

t.test('twenty lookups at once with no agent yet start one agent', async (t) => {
  // Twenty Node processes starting at once on a loaded two-core CI machine can
  // starve one past a 1 s LDAP timeout; this test is about one agent, not speed.
  const agent = withAgent('', (text) => text.replace('timeout = 1', 'timeout = 10').replace('deadline = 5', 'deadline = 30'))
  const results = await Promise.all(users.slice(0, 20).map((u) => map(agent.file, u.uid)))
  t.same(
    results.filter((r) => r.code !== 0).map((r) => r.stderr),
    [],
    'every lookup answered',
  )
  await agent.up()
  t.equal(agentsFor(agent.file).length, 1)
})

t.test('the agent keeps its LDAP connection between lookups, and fails over when that server dies', async (t) => {
  const a = await startSlapd(t, users)
  const b = await startSlapd(t, users)
  const { file, dir } = writeConfig(t, siteConfig([a.url, b.url], '{dir}'))
  await map(file, 'u1')
  await waitFor('the agent', () => (existsSync(join(dir, 'agent', 'agent.pid')) ? true : undefined))
  await map(file, 'u2')
  const before = a.traffic()
  for (const key of ['u3', 'u4', 'u5', 'nobody']) await map(file, key)
  // slapd writes its log a moment after it answers.
  const after = await waitFor('four operations in the log', () =>
    a.traffic().operations >= before.operations + 4 ? a.traffic() : undefined,
  )
  t.same(
    after,
    { connections: before.connections, operations: before.operations + 4 },
    'four lookups: four searches on the kept connection',
  )
  const bBefore = b.traffic().connections
  await a.kill()
  t.match(await map(file, 'u7'), { code: 0, stdout: /kamen\/2\/u7\n$/ }, 'the second server answers')
  t.equal(await waitFor('the connection in the log', () => b.traffic().connections - bBefore || undefined), 1, 'on a connection of its own')
})

t.test('an edited config is used by the next lookup', async (t) => {
  const agent = withAgent()
  await map(agent.file, 'u1')
  await agent.up()
  t.match((await map(agent.file, 'u1')).stdout, /^-fstype=nfs,vers=4,nosuid,nodev kamen:/)
  writeFileSync(agent.file, readFileSync(agent.file, 'utf8').concat('\n[nfs]\noptions = vers=3\n'))
  t.match((await map(agent.file, 'u1')).stdout, /^-fstype=nfs,vers=3,nosuid,nodev kamen:/)
  writeFileSync(agent.file, readFileSync(agent.file, 'utf8').concat('\n[ldap]\ntimeout = soon\n'))
  for (const kind of KINDS)
    t.match(
      await map(agent.file, 'u1', kind),
      { code: 1, stdout: '', stderr: /^efs-home-map: \[ldap\] timeout: 'soon' is not a positive duration/ },
      `${kind}: a broken edit fails like the map itself would`,
    )
})

t.test('a killed agent: the lookup answers itself and a new agent starts', async (t) => {
  const agent = withAgent()
  await map(agent.file, 'u1')
  const { pid } = await agent.up()
  process.kill(pid!, 'SIGKILL')
  await waitFor('the agent to die', () => (agentsFor(agent.file).length === 0 ? true : undefined))
  t.ok(existsSync(join(agent.agentDir, 'agent.keys')), "the dead agent's keys are still there")
  t.match(await map(agent.file, 'u2'), { code: 0, stdout: /nw-syd-efs1:\/1\/u2\n$/, stderr: '' })
  const next = await agent.up()
  t.not(next.pid, pid, 'a new agent')
})

t.test('a hung agent: the lookup still answers within its deadline, and the agent is replaced', async (t) => {
  const agent = withAgent('[home]\ndeadline = 3\n')
  await map(agent.file, 'u1')
  const { pid } = await agent.up()
  process.kill(pid!, 'SIGSTOP')
  t.teardown(() => {
    try {
      process.kill(pid!, 'SIGKILL')
    } catch {
      // already replaced
    }
  })
  for (const kind of KINDS) t.match(await map(agent.file, 'u5', kind), { code: 0, stdout: /kamen\/2\/u5\n$/, stderr: '' }, kind)
  await waitFor('the hung agent to be gone', () => (agentsFor(agent.file).includes(pid!) ? undefined : true))
  t.not((await agent.up()).pid, pid, 'a new agent answers')
})

t.test('idle, the agent exits and removes its keys; the next lookup starts another', async (t) => {
  // Idle long enough that a loaded machine still sees it up before it goes.
  const agent = withAgent('[home]\nagent_idle = 3\n')
  await map(agent.file, 'u1')
  await agent.up()
  await waitFor('the agent to exit', () =>
    agentsFor(agent.file).length === 0 && !existsSync(join(agent.agentDir, 'agent.keys')) ? true : undefined,
  )
  t.match(readFileSync(join(agent.agentDir, 'agent.log'), 'utf8'), /exiting after \d+ lookups: idle for 3 s/)
  t.equal((await map(agent.file, 'u1')).code, 0)
  await agent.up()
})

t.test('resident (systemd): no idle exit, and it takes the port over from an agent a lookup started', async (t) => {
  const agent = withAgent('[home]\nagent_idle = 3\n')
  await map(agent.file, 'u1')
  const lazy = await agent.up()
  const resident = spawnOwned(t, process.execPath, [EFS_HOME_BIN, 'agent', 'run', '--resident'], { env: mapEnv(agent.file) })
  const taken = await waitFor('the resident agent', async () => {
    const s = await agent.status()
    return s.up && s.pid === resident.pid ? s : undefined
  })
  t.match(taken, { resident: true })
  t.ok(!agentsFor(agent.file).includes(lazy.pid!), 'the lazily started one stopped')
  await new Promise((r) => setTimeout(r, 3500))
  t.equal((await agent.status()).pid, resident.pid, 'still there after agent_idle')
  t.match(await map(agent.file, 'u1'), { code: 0 })
  writeFileSync(agent.file, readFileSync(agent.file, 'utf8').concat('\n[home]\nagent = false\n').replace('agent_idle = 3', ''))
  await map(agent.file, 'u1')
  const code = await new Promise((r) => (resident.exitCode === null ? resident.once('exit', r) : r(resident.exitCode)))
  t.equal(code, 1, 'agent = false: exits 1, which the unit does not restart')
})

t.test("an agent for another config file declines; that config's lookup answers itself", async (t) => {
  const agent = withAgent()
  await map(agent.file, 'u1')
  await agent.up()
  const { file: other } = writeConfig(
    t,
    siteConfig([slapd.url], '{dir}', `[nfs]\noptions = vers=3\n`).replace(
      /agent_dir = .*\nagent_port = .*\n/,
      `agent_dir = ${agent.agentDir}\nagent_port = ${agent.port}\n`,
    ),
  )
  for (const kind of KINDS)
    t.match(
      await map(other, 'u1', kind),
      { code: 0, stdout: /^-fstype=nfs,vers=3,nosuid,nodev kamen:/ },
      `${kind}: its own config, not the agent’s`,
    )
  t.same(agentsFor(other), [], 'and no second agent fights for the port')
  t.match(
    await agentCheck(loadConfig(other)),
    { ok: false, detail: /serves .*, not .*: lookups do the work themselves$/, fix: /efs-home agent stop/ },
    'doctor says so',
  )
})
