// Whom the lookup agent answers, and whom the maps believe: root's questions
// only; never another process on the agent's port (garbage, forged answers,
// silence), nor a port any user may bind, nor a directory others may write;
// and the protocol's own checks.

import t from 'tap'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agentRig, agentsFor, lookUp } from './fixtures/agents.js'
import { AS_NOBODY, nobodyCopies } from './fixtures/as-nobody.js'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { skipWithout } from './fixtures/kernel.js'
import { createNetns } from './fixtures/netns.js'
import { runCommand, spawnOwned, spawnReady, waitFor } from './fixtures/processes.js'
import { EFS_HOME_BIN, MAPS, type MapKind, mapEnv, ROOT, runNode } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'
import { answerLine, parseAnswer, parseRequest, requestLine } from '../src/agent/protocol.js'
import { loadConfig } from '../src/config/load.js'
import { agentCheck } from '../src/doctor/checks.js'
import { pidFileText } from '../src/agent/files.js'
import { identityOf } from '../src/util/process-identity.js'

const KINDS = Object.keys(MAPS) as MapKind[]
const { slapd, withAgent } = await agentRig(t)
const map = lookUp

t.test('something else on the port, answering garbage, a forged answer or nothing: never trusted, every lookup answered', async (t) => {
  const agent = withAgent('[home]\ndeadline = 3\n')
  await map(agent.file, 'u1')
  await agent.up()
  const keysFile = join(agent.agentDir, 'agent.keys')
  const keys = readFileSync(keysFile, 'utf8')
  const [ask, answerKey] = keys.trim().split(' ')
  const evil = 'ok -fstype=nfs,vers=4 evil:/export/evil'
  // What an impostor may say: anything, an answer with a key of its own, with the ask key it was just sent, nothing.
  for (const answer of ['garbage', `${'0'.repeat(64)} ${evil}`, `${ask} ${evil}`, `${answerKey}`, '-silent'])
    for (const kind of KINDS) {
      // The real agent gone (and the one the last fallback started).
      for (const running of agentsFor(agent.file)) process.kill(running, 'SIGKILL')
      await waitFor('no agent', () => (agentsFor(agent.file).length === 0 ? true : undefined))
      // The worst case: the port held by an impostor (root here, so it may bind it), which the agent's
      // files name as the agent: the keys left by the real one, a PID file naming the impostor.
      const impostor = await spawnReady(t, 'the impostor', [
        process.execPath,
        join(ROOT, 'test/fixtures/impostor.mjs'),
        '127.0.0.1',
        String(agent.port),
        answer,
      ])
      let asked = 0
      impostor.stdout?.on('data', (d: Buffer) => (asked += d.toString().split('asked: ').length - 1))
      writeFileSync(keysFile, keys, { mode: 0o600 })
      writeFileSync(join(agent.agentDir, 'agent.pid'), pidFileText(identityOf(impostor.pid!)!))
      const r = await map(agent.file, 'u3', kind)
      const what = `${kind}, impostor answering ${JSON.stringify(answer.slice(0, 70))}`
      t.match(r, { code: 0, stdout: /^-fstype=nfs,vers=4,nosuid,nodev kamen:\/export\/kamen\/2\/u3\n$/ }, what)
      t.notMatch(r.stdout, /evil/)
      // Its output reaches this process a moment after the map is done.
      t.ok(await waitFor('the impostor to say it was asked', () => (asked >= 1 ? true : undefined)), 'it was asked, and not believed')
      impostor.kill('SIGKILL')
      await waitFor('the impostor to go', () => (impostor.exitCode !== null || impostor.signalCode !== null ? true : undefined))
    }
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
  const ask = `read -r ask _ < '${keys}'; exec 3<>/dev/tcp/127.0.0.1/${agent.port} || exit 3; printf 'lookup %s thin 1000 /home u1 %s\\n' "$ask" '${agent.file}' >&3; IFS= read -r -t 5 line <&3; echo "answer:$line"`
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
  t.match(await inNs([process.execPath, EFS_HOME_BIN, 'agent', 'status'], mapEnv(agent.file)), {
    code: 1,
    stdout: /not used: net\.ipv4\.ip_unprivileged_port_start is 0, so any user may bind port \d+ and stand in for the lookup agent/,
  })
  t.match(await inNs([process.execPath, EFS_HOME_BIN, 'agent', 'run'], mapEnv(agent.file)), {
    code: 2,
    stderr: /\[home\] agent_port \d+: net\.ipv4\.ip_unprivileged_port_start is 0/,
  })
  // Checked last: anything the impostor said has reached this process by now.
  t.equal(asked, 0, 'neither map even asked')
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
    t.same(parseAnswer(answerLine(key, { ok: false, error: "'carol' has no webDirectory", absent: true }).slice(0, -1), key), {
      answer: { ok: false, error: "'carol' has no webDirectory", absent: true },
    })
    t.equal(answerLine(key, { ok: false, error: 'two\nlines' }), `${key} no two lines\n`, 'an answer is one line')
    for (const line of [`${'e'.repeat(64)} ok ${entry}`, `${key} ok `, `${key} maybe x`, `${key} ok a\rb`, 'not an answer', ''])
      t.ok('bad' in parseAnswer(line, key), JSON.stringify(line))
    const lookup = { kind: 'lookup', via: 'thin', config: '/etc/efs home.conf', tree: '/web', key: 'u1', deadlineMs: 5 } as const
    t.same(parseRequest(requestLine(ask, lookup).trimEnd(), ask), lookup)
    t.same(parseRequest(`status ${ask}`, ask), { kind: 'status' })
    for (const line of [
      `lookup ${'b'.repeat(64)} thin 5 /home u1 /c`,
      'lookup thin 5 /home u1 /c',
      'status',
      `status ${'b'.repeat(64)}`,
      `lookup ${ask} thin 5 /home u1 relative.conf`,
      `lookup ${ask} other 5 /home u1 /c`,
      `lookup ${ask} thin 0 /home u1 /c`,
      `lookup ${ask} thin -1 /home u1 /c`,
      `lookup ${ask} thin 5 /home u1 /c\0`,
      `lookup ${ask} thin 5 web u1 /c`,
      `lookup ${ask} thin 5 u1 /c`,
      '',
    ])
      t.equal(parseRequest(line, ask), undefined, JSON.stringify(line))
  },
)
