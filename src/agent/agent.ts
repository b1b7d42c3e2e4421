// The resident lookup agent (`efs-home agent run`): one process per host,
// started by the first lookup that finds none, that answers efs-home-map
// over a root-only Unix socket with the very lookupHome the map would run
// itself. The map then costs a Node start-up and one round trip instead of
// loading ldapts, the config table and the rest for every login.
//
// It re-reads the config file when the file changes, declines questions for
// another config file, and exits after [home] agent_idle without a lookup
// (or when the config no longer wants it at this socket).

import { rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { dirname, resolve } from 'node:path'
import { readConfigText } from '../config/ini-file.js'
import { type Config, parseConfig } from '../config/load.js'
import { EfsHomeError, oneLine } from '../errors.js'
import { ConnectionPool } from '../directory/servers.js'
import { lookupHome } from '../lookup/lookup.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { makeTrustedDir } from '../util/trusted-files.js'
import { Deadline } from '../util/deadline.js'
import { unlock, withLock } from '../util/lock.js'
import { askAgent } from './client.js'
import { agentFiles, readPid, unsafeSocketDir } from './files.js'
import { type AgentAnswer, type AgentRequest, parseRequest, readOneLine } from './protocol.js'

async function listenOnce(server: Server, socketPath: string): Promise<void> {
  // Root only: the socket is created 0600 whatever the umask was.
  const umask = process.umask(0o177)
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail)
      server.listen(socketPath, () => {
        server.off('error', fail)
        done()
      })
    })
  } finally {
    process.umask(umask)
  }
}

export async function runAgent(configFile: string, log: (line: string) => void): Promise<number> {
  const file = resolve(configFile)
  let version = readConfigText(file)
  let config: Config = parseConfig(file, version)
  // Connections to the directory, kept between lookups; new ones when the config changes.
  let pool = new ConnectionPool()
  if (!config.home.agent) throw new EfsHomeError('CONFIG', `[home] agent is false in ${file}: lookups do not use an agent`)
  const socketPath = config.home.agent_socket
  const unsafe = unsafeSocketDir(socketPath)
  if (unsafe !== undefined) throw new EfsHomeError('CONFIG', `[home] agent_socket ${socketPath}: ${unsafe}; lookups will not use an agent there`)
  const files = agentFiles(socketPath)
  const started = Date.now()
  let answered = 0
  let inFlight = 0
  let retiring = false

  /** The config to answer with, re-read when the file's text changed (an edit within the same second too); an error answers like the map's own load would. */
  const currentConfig = (): Config => {
    const now = readConfigText(file)
    if (now !== version) {
      config = parseConfig(file, now)
      version = now
      pool.close()
      pool = new ConnectionPool()
      log(`re-read ${file}`)
      if (!config.home.agent || config.home.agent_socket !== socketPath) retiring = true
    }
    return config
  }

  const lookup = async (request: Extract<AgentRequest, { kind: 'lookup' }>): Promise<AgentAnswer> => {
    if (resolve(request.config) !== file) return { ok: false, declined: true, error: `this agent answers for ${file}, not ${request.config}` }
    try {
      const current = currentConfig()
      const deadline = new Deadline(Math.min(request.deadlineMs / 1000, current.home.deadline))
      const result = await lookupHome(current, request.key, { deadline, pool })
      answered += 1
      return { ok: true, text: result.text }
    } catch (err) {
      return { ok: false, error: oneLine(err) }
    }
  }

  const status = (): AgentAnswer => ({
    ok: true,
    text: JSON.stringify({ pid: process.pid, config: file, socket: socketPath, started: Math.floor(started / 1000), answered, rssMb: Math.round(process.memoryUsage.rss() / 1048576) }),
  })

  let stopping = false
  let stopped: () => void = () => undefined
  const shutdown = async (why: string) => {
    if (stopping) return
    stopping = true
    clearTimeout(idle)
    await new Promise<void>((done) => server.close(() => done()))
    pool.close()
    // Only what is still ours: a successor may already own the socket.
    if (readPid(files.pid) === process.pid) {
      rmSync(socketPath, { force: true })
      rmSync(files.pid, { force: true })
    }
    log(`exiting after ${answered} lookups: ${why}`)
    stopped()
  }

  let idle: NodeJS.Timeout | undefined
  /** (Re)starts the idle clock; it runs only while no question is being answered. */
  const armIdle = () => {
    clearTimeout(idle)
    if (inFlight === 0 && !stopping) idle = setTimeout(() => void shutdown(`idle for ${config.home.agent_idle} s`), config.home.agent_idle * 1000)
  }

  const server = createServer((socket: Socket) => {
    inFlight += 1
    clearTimeout(idle)
    socket.on('error', () => undefined)
    socket.on('close', () => {
      inFlight -= 1
      if (retiring && inFlight === 0) void shutdown('the config no longer names this agent at this socket')
      else armIdle()
    })
    readOneLine(
      socket,
      (line) => {
        const request = parseRequest(line)
        const answering =
          request === undefined
            ? Promise.resolve<AgentAnswer>({ ok: false, error: 'a request that is not one' })
            : request.kind === 'status'
              ? Promise.resolve(status())
              : lookup(request)
        void answering.then((answer) => socket.end(`${JSON.stringify(answer)}\n`))
      },
      () => socket.destroy(),
    )
  })

  makeTrustedDir(dirname(socketPath), 'the [home] agent_socket directory')
  const listening = await withLock(files.binding, 5000, async () => {
    // A socket file with a live agent behind it: that agent serves; one without is a dead agent's.
    if ((await askAgent(socketPath, { kind: 'status' }, 1000)).kind === 'answer') return false
    rmSync(socketPath, { force: true })
    await listenOnce(server, socketPath)
    writeFileAtomic(files.pid, `${process.pid}\n`)
    return true
  })
  unlock(files.starting)
  if (!listening) {
    log('another agent already answers on this socket')
    return 0
  }
  log(`answering lookups for ${file} on ${socketPath}`)
  await new Promise<void>((done) => {
    stopped = done
    armIdle()
    process.once('SIGTERM', () => void shutdown('SIGTERM'))
    process.once('SIGINT', () => void shutdown('SIGINT'))
  })
  return 0
}
