// The resident lookup agent: started by the first lookup, answering the
// next ones with the same entries and errors as a lookup done in-process,
// re-reading an edited config, and replaced when it dies or hangs.

import t from 'tap'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agentsFor } from './fixtures/agents.js'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { spawnOwned, waitFor } from './fixtures/processes.js'
import { EFS_HOME_BIN, MAP_BIN, mapEnv, runNode } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'
import { startSlapd } from './fixtures/slapd.js'
import { BAD_KEYS } from './fixtures/bad-input.js'
import { parseAnswer, parseRequest } from '../src/agent/protocol.js'
import { loadConfig } from '../src/config/load.js'
import { agentCheck } from '../src/doctor/checks.js'

const users = Array.from({ length: 40 }, (_, i) => ({
  uid: `u${i}`,
  home: i % 2 === 0 ? `/import/nw-syd-efs1/1/u${i}` : `/import/kamen/2/u${i}`,
}))
const slapd = await startSlapd(t, [...users, { uid: 'evil', home: '/import/kamen/2/../../etc' }])

/** A config with an agent (`{dir}/agent.sock`), and what it takes to watch that agent. */
function withAgent(extra = '', edit = (text: string) => text) {
  const { file, dir } = writeConfig(t, edit(siteConfig([slapd.url], '{dir}', extra)))
  const socket = join(dir, 'agent.sock')
  const status = async () => {
    const r = await runNode(EFS_HOME_BIN, ['agent', 'status', '--json'], mapEnv(file))
    return JSON.parse(r.stdout) as { up: boolean; pid?: number; answered?: number }
  }
  const up = () => waitFor('the agent to answer', async () => ((await status()).up ? status() : undefined))
  return { file, dir, socket, status, up }
}

const map = (file: string, key: string) => runNode(MAP_BIN, [key], mapEnv(file))

t.test('the first lookup starts the agent; it answers the next ones exactly as a lookup in-process would', async (t) => {
  const agent = withAgent()
  const { file: plain } = writeConfig(t, siteConfig([slapd.url], '{dir}', '[home]\nagent = false\n'))
  t.same((await agent.status()).up, false, 'no agent before the first lookup')
  t.match(
    await agentCheck(loadConfig(agent.file)),
    { ok: true, detail: /^not running on .*; the next lookup starts it$/ },
    'doctor: none yet is fine',
  )
  t.equal((await map(agent.file, 'u1')).code, 0)
  const first = await agent.up()
  t.match(
    await agentCheck(loadConfig(agent.file)),
    { ok: true, detail: new RegExp(`^PID ${first.pid} on .*: \\d+ lookups answered, \\d+ MB resident$`) },
    'doctor: up',
  )
  t.equal(statSync(agent.socket).mode & 0o777, 0o600, 'the socket is root-only')
  for (const key of ['u0', 'u3', 'u4', 'nobody', 'evil', ...BAD_KEYS.slice(0, 6)]) {
    t.same(await map(agent.file, key), await map(plain, key), JSON.stringify(key))
  }
  const after = await agent.status()
  t.equal(after.pid, first.pid, 'one agent answered them all')
  t.equal(after.answered, 3, 'the three users that have a home')
  t.same(agentsFor(plain), [], 'agent = false: no agent')
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
  await waitFor('the agent', () => (existsSync(join(dir, 'agent.sock.pid')) ? true : undefined))
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
  t.match(
    await map(agent.file, 'u1'),
    { code: 1, stdout: '', stderr: /^efs-home-map: \[ldap\] timeout: 'soon' is not a positive duration/ },
    'a broken edit fails like the map itself would',
  )
})

t.test('a killed agent: the lookup answers itself and a new agent starts', async (t) => {
  const agent = withAgent()
  await map(agent.file, 'u1')
  const { pid } = await agent.up()
  process.kill(pid!, 'SIGKILL')
  await waitFor('the agent to die', () => (agentsFor(agent.file).length === 0 ? true : undefined))
  t.ok(existsSync(agent.socket), "the dead agent's socket is still there")
  t.match(await map(agent.file, 'u2'), { code: 0, stdout: /nw-syd-efs1:\/1\/u2\n$/ })
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
  t.match(await map(agent.file, 'u5'), { code: 0, stdout: /kamen\/2\/u5\n$/ })
  await waitFor('the hung agent to be gone', () => (agentsFor(agent.file).includes(pid!) ? undefined : true))
  t.not((await agent.up()).pid, pid, 'a new agent answers')
})

t.test('idle, the agent exits and removes its socket; the next lookup starts another', async (t) => {
  const agent = withAgent('[home]\nagent_idle = 1\n')
  await map(agent.file, 'u1')
  await agent.up()
  await waitFor('the agent to exit', () => (agentsFor(agent.file).length === 0 && !existsSync(agent.socket) ? true : undefined))
  t.match(readFileSync(`${agent.socket}.log`, 'utf8'), /exiting after \d+ lookups: idle for 1 s/)
  t.equal((await map(agent.file, 'u1')).code, 0)
  await agent.up()
})

t.test("an agent for another config file declines; that config's lookup answers itself", async (t) => {
  const agent = withAgent()
  await map(agent.file, 'u1')
  await agent.up()
  const { file: other } = writeConfig(
    t,
    siteConfig([slapd.url], '{dir}', `[home]\nagent_socket = ${agent.socket}\n[nfs]\noptions = vers=3\n`),
  )
  t.match(await map(other, 'u1'), { code: 0, stdout: /^-fstype=nfs,vers=3,nosuid,nodev kamen:/ }, 'its own config, not the agent’s')
  t.same(agentsFor(other), [], 'and no second agent fights for the socket')
  t.match(
    await agentCheck(loadConfig(other)),
    { ok: false, detail: /serves .*, not .*: lookups do the work themselves$/, fix: /efs-home agent stop/ },
    'doctor says so',
  )
})

t.test('an agent socket in a directory others may write to is never used', async (t) => {
  const open = join(scratchDir(t), 'open')
  mkdirSync(open)
  chmodSync(open, 0o1777)
  const { file } = writeConfig(t, siteConfig([slapd.url], '{dir}', `[home]\nagent_socket = ${open}/agent.sock\n`))
  t.match(await map(file, 'u1'), { code: 0, stdout: /kamen\/2\/u1\n$/, stderr: '' }, 'answered in-process')
  t.match(await runNode(EFS_HOME_BIN, ['agent', 'status'], mapEnv(file)), { code: 1, stdout: /not used: .* is writable by others/ })
  t.match(await runNode(EFS_HOME_BIN, ['agent', 'run'], mapEnv(file)), {
    code: 2,
    stderr: /^efs-home: agent run: \[home\] agent_socket .* is writable by others/,
  })
  t.match(
    await agentCheck(loadConfig(file)),
    { ok: false, detail: /not used: .* is writable by others/, fix: /root's own/ },
    'doctor says so',
  )
  t.same(agentsFor(file), [], 'no agent was started')
})

t.test('a PID file that names another process (a recycled PID, a forged file) is not the agent', async (t) => {
  const { file, dir } = writeConfig(t, siteConfig([slapd.url], '{dir}'))
  const bystander = spawnOwned(t, 'sleep', ['60'])
  await waitFor('the bystander', () => (existsSync(`/proc/${bystander.pid}`) ? true : undefined))
  for (const text of [`${bystander.pid}\n`, `${bystander.pid} 1\n`]) {
    writeFileSync(join(dir, 'agent.sock.pid'), text)
    t.match(await runNode(EFS_HOME_BIN, ['agent', 'stop'], mapEnv(file)), { code: 0, stdout: /: not running$/m }, JSON.stringify(text))
    t.equal(bystander.exitCode, null, 'the process with that PID is left alone')
  }
})

t.test('the protocol: what is not a well-formed question or a one-line answer is refused', async (t) => {
  t.same(parseAnswer('{"ok":true,"text":"-fstype=nfs,vers=4,nosuid,nodev kamen:/x"}'), {
    ok: true,
    text: '-fstype=nfs,vers=4,nosuid,nodev kamen:/x',
  })
  for (const line of ['{"ok":true,"text":"a\\nb"}', '{"ok":true,"text":"a\\u0000"}', '{"ok":true}', '[]', 'null', 'not json'])
    t.equal(parseAnswer(line), undefined, line)
  t.same(parseRequest('{"kind":"lookup","config":"/c","key":"u1","deadlineMs":5}'), {
    kind: 'lookup',
    config: '/c',
    key: 'u1',
    deadlineMs: 5,
  })
  for (const line of [
    '{"kind":"lookup","config":"/c","key":1,"deadlineMs":5}',
    '{"kind":"lookup","config":"/c","key":"u1","deadlineMs":-1}',
    '{"kind":"x"}',
    '"status"',
  ]) {
    t.equal(parseRequest(line), undefined, line)
  }
})
