// The agent's and the proxies' logs reach the journal with an identifier
// and a level each: on journald's stream socket when a lookup started them
// (the file keeps its timestamped lines too), with <level> prefixes on
// stderr when systemd runs them. The stream header is checked against what
// systemd-cat itself sends.

import t, { type Test } from 'tap'
import { fstatSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { serviceLog } from '../src/util/service-log.js'
import { kernelLacks } from './fixtures/kernel.js'
import { runCommand, waitFor } from './fixtures/processes.js'
import { EFS_HOME_BIN } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'
import { FS_ID, startRig } from './fixtures/tls-rig.js'

/** A stand-in for journald's stream socket: what each connection sent. */
async function fakeJournal(t: Test): Promise<{ path: string; streams: string[] }> {
  const dir = scratchDir(t, 'journal')
  const path = join(dir, 'stdout')
  const streams: string[] = []
  const open = new Set<Socket>()
  const server = createServer((c) => {
    open.add(c)
    const i = streams.push('') - 1
    c.on('data', (d) => {
      streams[i] += d.toString()
    })
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  t.teardown(() => {
    for (const c of open) c.destroy()
    server.close()
  })
  return { path, streams }
}

function withEnv(t: Test, vars: Record<string, string | undefined>): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k]
  t.teardown(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
}

t.test("started by a lookup: timestamped lines for the file, the same lines in the journal with systemd-cat's header", async (t) => {
  const journal = await fakeJournal(t)
  withEnv(t, { EFS_HOME_JOURNAL_SOCKET: journal.path, JOURNAL_STREAM: undefined })
  const file: string[] = []
  const log = serviceLog('efs-home-proxy@fs-0123abcd', (text) => file.push(text))
  log('listening on 127.0.0.1:250')
  log('conn 3: TLS to 10.0.1.26:2049: ECONNREFUSED\nforged line', 'warning')
  log('giving up', 'err')
  await waitFor('the journal entries', () => (journal.streams[0]?.endsWith('<3>giving up\n') ? true : undefined), 5000)
  t.same(journal.streams, [
    'efs-home-proxy@fs-0123abcd\n\n6\n1\n0\n0\n0\n<6>listening on 127.0.0.1:250\n<4>conn 3: TLS to 10.0.1.26:2049: ECONNREFUSED forged line\n<3>giving up\n',
  ])
  t.match(
    file,
    [/^\d{4}-\d\d-\d\dT[\d:.]+Z listening on/, /Z conn 3: .* forged line$/, /Z giving up$/],
    'one line each, a newline in a value cannot make two',
  )
})

t.test('under systemd (stderr is the journal): level prefixes on stderr, no second copy', async (t) => {
  const journal = await fakeJournal(t)
  const s = fstatSync(2)
  withEnv(t, { EFS_HOME_JOURNAL_SOCKET: journal.path, JOURNAL_STREAM: `${s.dev}:${s.ino}` })
  const err: string[] = []
  const log = serviceLog('efs-home-agent', (text) => err.push(text))
  log('answering lookups')
  log('cannot use /etc/efs-home/efs-home.conf: bad', 'warning')
  await sleep(200)
  t.same(err, ['<6>answering lookups', '<4>cannot use /etc/efs-home/efs-home.conf: bad'])
  t.same(journal.streams, [], 'nothing sent twice')
})

t.test('no journald: the file is the log, and nothing fails', async (t) => {
  withEnv(t, { EFS_HOME_JOURNAL_SOCKET: join(scratchDir(t), 'none'), JOURNAL_STREAM: undefined })
  const file: string[] = []
  const log = serviceLog('efs-home-agent', (text) => file.push(text))
  for (let i = 0; i < 3; i++) log(`line ${i}`)
  await sleep(100)
  log('after')
  t.equal(file.length, 4)
})

const noMountns = kernelLacks('mountns')
t.test('the header is the one systemd-cat sends', { skip: noMountns ?? false }, async (t) => {
  const journal = await fakeJournal(t)
  // systemd-cat knows only /run/systemd/journal/stdout: a private mount namespace puts the fake there, the host's /run untouched.
  const script = [
    'set -e',
    'mount -t tmpfs tmpfs /run',
    'mkdir -p /run/systemd/journal',
    `ln -s ${journal.path} /run/systemd/journal/stdout`,
    'systemd-cat -t efs-home-proxy@fs-0123abcd -p info --level-prefix=true echo "<6>listening on 127.0.0.1:250"',
  ].join('\n')
  const r = await runCommand('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script], { PATH: process.env.PATH })
  t.equal(r.code, 0, r.stderr)
  await waitFor('systemd-cat', () => (journal.streams[0]?.endsWith('\n<6>listening on 127.0.0.1:250\n') ? true : undefined), 5000)
  withEnv(t, { EFS_HOME_JOURNAL_SOCKET: journal.path, JOURNAL_STREAM: undefined })
  serviceLog('efs-home-proxy@fs-0123abcd', () => undefined)('listening on 127.0.0.1:250')
  await waitFor('ours', () => (journal.streams[1]?.endsWith('\n') ? true : undefined), 5000)
  t.equal(journal.streams[1], journal.streams[0])
})

const noNetns = kernelLacks('netns')
t.test('a proxy a lookup starts logs to the journal as efs-home-proxy@<fs_id>', { skip: noNetns ?? false }, async (t) => {
  const journal = await fakeJournal(t)
  const rig = await startRig(t, { role: 'jrnl' })
  const r = await rig.exec([process.execPath, EFS_HOME_BIN, 'proxy', 'ensure', FS_ID], { EFS_HOME_JOURNAL_SOCKET: journal.path })
  t.equal(r.code, 0, r.stderr)
  const stream = await waitFor(
    'the proxy in the journal',
    () => journal.streams.find((s) => s.includes('<6>listening on 127.0.0.1:')),
    10_000,
  )
  t.match(stream, new RegExp(`^efs-home-proxy@${FS_ID}\\n\\n6\\n1\\n0\\n0\\n0\\n`))
})
