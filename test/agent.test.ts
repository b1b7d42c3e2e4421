// The resident lookup agent: started by the first lookup (or run by systemd),
// answering the thin map (bash) and the Node map over loopback TCP with the
// same entries and errors as a lookup done in-process, re-reading an edited
// config, answering root only, never impersonated, and replaced when it dies
// or hangs.

import t from 'tap'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agentsFor } from './fixtures/agents.js'
import { AS_NOBODY, nobodyCopies } from './fixtures/as-nobody.js'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { skipWithout } from './fixtures/kernel.js'
import { createNetns } from './fixtures/netns.js'
import { runCommand, spawnOwned, spawnReady, waitFor } from './fixtures/processes.js'
import { EFS_HOME_BIN, MAPS, type MapKind, mapEnv, ROOT, runMap, runNode } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'
import { startSlapd } from './fixtures/slapd.js'
import { BAD_KEYS } from './fixtures/bad-input.js'
import { answerLine, parseAnswer, parseRequest, requestLine } from '../src/agent/protocol.js'
import { loadConfig } from '../src/config/load.js'
import { agentCheck } from '../src/doctor/checks.js'

const KINDS = Object.keys(MAPS) as MapKind[]
const users = Array.from({ length: 40 }, (_, i) => ({
  uid: `u${i}`,
  home: i % 2 === 0 ? `/import/nw-syd-efs1/1/u${i}` : `/import/kamen/2/u${i}`,
}))
const slapd = await startSlapd(t, [...users, { uid: 'evil', home: '/import/kamen/2/../../etc' }])

interface Status {
  up: boolean
  pid?: number
  port?: number
  answered?: number
  answeredThin?: number
  answeredNode?: number
  refused?: number
  problem?: string
}

/** A config with an agent (in `{dir}/agent`), and what it takes to watch that agent. */
function withAgent(extra = '', edit = (text: string) => text) {
  const { file, dir } = writeConfig(t, edit(siteConfig([slapd.url], '{dir}', extra)))
  const agentDir = join(dir, 'agent')
  const config = loadConfig(file)
  const status = async () => {
    const r = await runNode(EFS_HOME_BIN, ['agent', 'status', '--json'], mapEnv(file))
    return JSON.parse(r.stdout) as Status
  }
  const up = () => waitFor('the agent to answer', async () => ((await status()).up ? status() : undefined))
  return { file, dir, agentDir, port: config.home.agent_port, status, up }
}

/** A lookup through the thin map, as automount runs it. */
const map = (file: string, key: string, kind: MapKind = 'thin') => runMap(kind, [key], mapEnv(file))

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
    const inProcess = await map(plain, key, 'node')
    for (const kind of KINDS) t.same(await map(agent.file, key, kind), inProcess, `${kind}: ${JSON.stringify(key)}`)
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

t.test('something else on the port, answering garbage, a forged answer or nothing: never trusted, every lookup answered', async (t) => {
  const agent = withAgent('[home]\ndeadline = 3\n')
  await map(agent.file, 'u1')
  await agent.up()
  const keysFile = join(agent.agentDir, 'agent.keys')
  const keys = readFileSync(keysFile, 'utf8')
  const [ask, answerKey] = keys.trim().split(' ')
  const evil = 'ok -fstype=nfs,vers=4 evil:/export/evil'
  // What an impostor may say: anything, an answer with a key of its own, with the ask key it was just sent, nothing.
  for (const answer of ['garbage', `${'0'.repeat(64)} ${evil}`, `${ask} ${evil}`, `${answerKey}`, '-silent']) {
    // The real agent gone, its keys file left; the port held by an impostor (root here, so it may bind it).
    for (const running of agentsFor(agent.file)) process.kill(running, 'SIGKILL')
    await waitFor('no agent', () => (agentsFor(agent.file).length === 0 ? true : undefined))
    writeFileSync(keysFile, keys, { mode: 0o600 })
    const impostor = await spawnReady(t, 'the impostor', [
      process.execPath,
      join(ROOT, 'test/fixtures/impostor.mjs'),
      '127.0.0.1',
      String(agent.port),
      answer,
    ])
    let asked = 0
    impostor.stdout?.on('data', (d: Buffer) => (asked += d.toString().split('asked: ').length - 1))
    for (const kind of KINDS) {
      const r = await map(agent.file, 'u3', kind)
      t.match(
        r,
        { code: 0, stdout: /^-fstype=nfs,vers=4,nosuid,nodev kamen:\/export\/kamen\/2\/u3\n$/ },
        `${kind}, impostor answering ${JSON.stringify(answer.slice(0, 70))}`,
      )
      t.notMatch(r.stdout, /evil/)
    }
    t.ok(asked >= 1, 'the impostor was asked, and not believed')
    impostor.kill('SIGKILL')
    await waitFor('the impostor to go', () => (impostor.exitCode !== null || impostor.signalCode !== null ? true : undefined))
  }
})

t.test('idle, the agent exits and removes its keys; the next lookup starts another', async (t) => {
  const agent = withAgent('[home]\nagent_idle = 1\n')
  await map(agent.file, 'u1')
  await agent.up()
  await waitFor('the agent to exit', () =>
    agentsFor(agent.file).length === 0 && !existsSync(join(agent.agentDir, 'agent.keys')) ? true : undefined,
  )
  t.match(readFileSync(join(agent.agentDir, 'agent.log'), 'utf8'), /exiting after \d+ lookups: idle for 1 s/)
  t.equal((await map(agent.file, 'u1')).code, 0)
  await agent.up()
})

t.test('resident (systemd): no idle exit, and it takes the port over from an agent a lookup started', async (t) => {
  const agent = withAgent('[home]\nagent_idle = 1\n')
  await map(agent.file, 'u1')
  const lazy = await agent.up()
  const resident = spawnOwned(t, process.execPath, [EFS_HOME_BIN, 'agent', 'run', '--resident'], { env: mapEnv(agent.file) })
  const taken = await waitFor('the resident agent', async () => {
    const s = await agent.status()
    return s.up && s.pid === resident.pid ? s : undefined
  })
  t.match(taken, { resident: true })
  t.ok(!agentsFor(agent.file).includes(lazy.pid!), 'the lazily started one stopped')
  await new Promise((r) => setTimeout(r, 1500))
  t.equal((await agent.status()).pid, resident.pid, 'still there after agent_idle')
  t.match(await map(agent.file, 'u1'), { code: 0 })
  writeFileSync(agent.file, readFileSync(agent.file, 'utf8').concat('\n[home]\nagent = false\n').replace('agent_idle = 1', ''))
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

t.test('an agent directory others may write to is never used', async (t) => {
  const open = join(scratchDir(t), 'open')
  mkdirSync(open)
  chmodSync(open, 0o1777)
  const { file } = writeConfig(t, siteConfig([slapd.url], '{dir}').replace(/agent_dir = .*/, `agent_dir = ${open}`))
  for (const kind of KINDS)
    t.match(await map(file, 'u1', kind), { code: 0, stdout: /kamen\/2\/u1\n$/, stderr: '' }, `${kind}: answered in-process`)
  t.match(await runNode(EFS_HOME_BIN, ['agent', 'status'], mapEnv(file)), { code: 1, stdout: /not used: .* is writable by others/ })
  t.match(await runNode(EFS_HOME_BIN, ['agent', 'run'], mapEnv(file)), {
    code: 2,
    stderr: /^efs-home: agent run: the \[home\] agent_dir directory: .* is writable by others/,
  })
  t.match(
    await agentCheck(loadConfig(file)),
    { ok: false, detail: /not used: .* is writable by others/, fix: /root's own/ },
    'doctor says so',
  )
  t.same(agentsFor(file), [], 'no agent was started')
})

t.test('only root gets answers: a question from nobody, who cannot read the keys, is closed unanswered', async (t) => {
  const agent = withAgent()
  await map(agent.file, 'u1')
  await agent.up()
  const keys = join(agent.agentDir, 'agent.keys')
  const ask = `read -r ask _ < '${keys}'; exec 3<>/dev/tcp/127.0.0.1/${agent.port} || exit 3; printf 'lookup %s thin 1000 u1 %s\\n' "$ask" '${agent.file}' >&3; IFS= read -r -t 5 line <&3; echo "answer:$line"`
  const asNobody = await runCommand(AS_NOBODY[0], [...AS_NOBODY.slice(1), 'bash', '--norc', '-c', ask], { PATH: '/usr/bin:/bin' })
  t.match(asNobody, { stdout: 'answer:\n', stderr: /Permission denied/ }, 'nobody: connected, and got nothing')
  const asRoot = await runCommand('bash', ['--norc', '-c', ask], { PATH: '/usr/bin:/bin' })
  t.match(asRoot.stdout, /^answer:[0-9a-f]{64} ok -fstype=nfs/, 'root: the answer')
  t.match(await agent.status(), { refused: 1 })
})

t.test('where any user may bind the port, neither map trusts it and doctor fails', async (t) => {
  if (skipWithout(t, 'netns')) return
  const ns = createNetns(t, 'agent')
  const inNs = (argv: string[], env: NodeJS.ProcessEnv) =>
    runCommand(ns.exec[0]!, [...ns.exec.slice(1), 'env', '-u', 'NODE_OPTIONS', ...argv], env)
  await runCommand(ns.exec[0]!, [...ns.exec.slice(1), 'sysctl', '-qw', 'net.ipv4.ip_unprivileged_port_start=0'], { PATH: process.env.PATH })
  // The namespace has no LDAP: the answer comes from the cache, so a lookup that did not believe the impostor still answers.
  const agent = withAgent('[home]\ncache_max_age = 1d\n')
  const cache = loadConfig(agent.file).home.cache_file
  mkdirSync(join(cache, '..'), { recursive: true })
  writeFileSync(cache, JSON.stringify({ version: 1, users: { u3: { location: '/import/kamen/2/u3', at: Math.floor(Date.now() / 1000) } } }))
  mkdirSync(agent.agentDir, { recursive: true, mode: 0o755 })
  writeFileSync(join(agent.agentDir, 'agent.keys'), `${'a'.repeat(64)} ${'b'.repeat(64)}\n`, { mode: 0o600 })
  const [impostorCopy] = nobodyCopies(t, 'impostor.mjs')
  const impostor = await spawnReady(t, 'the impostor', [
    ...ns.exec,
    ...AS_NOBODY,
    process.execPath,
    impostorCopy!,
    '127.0.0.1',
    String(agent.port),
    `${'b'.repeat(64)} ok -fstype=nfs,vers=4 evil:/export/evil`,
  ])
  let asked = 0
  impostor.stdout?.on('data', (d: Buffer) => (asked += d.toString().split('asked: ').length - 1))
  for (const kind of KINDS) {
    const r = await inNs(kind === 'thin' ? [MAPS.thin, 'u3'] : [process.execPath, MAPS.node, 'u3'], mapEnv(agent.file))
    t.notMatch(r.stdout, /evil/, `${kind}: the impostor's answer is not used`)
    t.match(r, { code: 0, stdout: /kamen:\/export\/kamen\/2\/u3\n$/ }, `${kind}: answered from the cache`)
  }
  t.equal(asked, 0, 'neither map even asked')
  t.match(await inNs([process.execPath, EFS_HOME_BIN, 'agent', 'status'], mapEnv(agent.file)), {
    code: 1,
    stdout: /not used: net\.ipv4\.ip_unprivileged_port_start is 0, so any user may bind port \d+ and stand in for the lookup agent/,
  })
  t.match(await inNs([process.execPath, EFS_HOME_BIN, 'agent', 'run'], mapEnv(agent.file)), {
    code: 2,
    stderr: /\[home\] agent_port \d+: net\.ipv4\.ip_unprivileged_port_start is 0/,
  })
})

t.test('a PID file that names another process (a recycled PID, a forged file) is not the agent', async (t) => {
  const { file, dir } = writeConfig(t, siteConfig([slapd.url], '{dir}'))
  const bystander = spawnOwned(t, 'sleep', ['60'])
  await waitFor('the bystander', () => (existsSync(`/proc/${bystander.pid}`) ? true : undefined))
  mkdirSync(join(dir, 'agent'))
  for (const text of [`${bystander.pid}\n`, `${bystander.pid} 1\n`]) {
    writeFileSync(join(dir, 'agent', 'agent.pid'), text)
    t.match(await runNode(EFS_HOME_BIN, ['agent', 'stop'], mapEnv(file)), { code: 0, stdout: /: not running$/m }, JSON.stringify(text))
    t.equal(bystander.exitCode, null, 'the process with that PID is left alone')
  }
})

t.test(
  'the protocol: what is not a well-formed question with the ask key, or a one-line answer with the answer key, is refused',
  async (t) => {
    const ask = 'a'.repeat(64)
    const key = 'f'.repeat(64)
    const entry = '-fstype=nfs,vers=4,nosuid,nodev kamen:/x'
    t.same(parseAnswer(answerLine(key, { ok: true, text: entry }).slice(0, -1), key), { answer: { ok: true, text: entry } })
    t.same(parseAnswer(answerLine(key, { ok: false, error: 'no LDAP entry' }).slice(0, -1), key), {
      answer: { ok: false, error: 'no LDAP entry' },
    })
    t.same(parseAnswer(`${key} declined another config`, key), { answer: { ok: false, error: 'another config', declined: true } })
    t.equal(answerLine(key, { ok: false, error: 'two\nlines' }), `${key} no two lines\n`, 'an answer is one line')
    for (const line of [`${'e'.repeat(64)} ok ${entry}`, `${key} ok `, `${key} maybe x`, `${key} ok a\rb`, 'not an answer', ''])
      t.ok('bad' in parseAnswer(line, key), JSON.stringify(line))
    const lookup = { kind: 'lookup', via: 'thin', config: '/etc/efs home.conf', key: 'u1', deadlineMs: 5 } as const
    t.same(parseRequest(requestLine(ask, lookup).trimEnd(), ask), lookup)
    t.same(parseRequest(`status ${ask}`, ask), { kind: 'status' })
    for (const line of [
      `lookup ${'b'.repeat(64)} thin 5 u1 /c`,
      'lookup thin 5 u1 /c',
      'status',
      `status ${'b'.repeat(64)}`,
      `lookup ${ask} thin 5 u1 relative.conf`,
      `lookup ${ask} other 5 u1 /c`,
      `lookup ${ask} thin 0 u1 /c`,
      `lookup ${ask} thin -1 u1 /c`,
      `lookup ${ask} thin 5 u1 /c\0`,
      '',
    ])
      t.equal(parseRequest(line, ask), undefined, JSON.stringify(line))
  },
)
