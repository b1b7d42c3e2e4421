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
import { ConnectionPool } from '../directory/pool.js'
import { lookupHome } from '../lookup/lookup.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { makeTrustedDir } from '../util/trusted-files.js'
import { ownIdentity } from '../util/process-identity.js'
import { Deadline } from '../util/deadline.js'
import { unlock, withLock } from '../util/lock.js'
import { askAgent } from './client.js'
import { agentFiles, pidFileText, readPidFile, unsafeSocketDir } from './files.js'
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

/** The agent's life: its config, its kept connections, its socket and its idle clock, as named parts. */
class LookupAgent {
  private version: string
  private config: Config
  /** Connections to the directory, kept between lookups; new ones when the config changes. */
  private pool = new ConnectionPool()
  private readonly socketPath: string
  private readonly files: ReturnType<typeof agentFiles>
  private readonly started = Date.now()
  private readonly server: Server
  private answered = 0
  private inFlight = 0
  /** The config no longer names this agent at this socket: exit once the questions in flight are answered. */
  private retiring = false
  private stopping = false
  private idle: NodeJS.Timeout | undefined
  private stopped: () => void = () => undefined

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void,
  ) {
    this.version = readConfigText(file)
    this.config = parseConfig(file, this.version)
    if (!this.config.home.agent) throw new EfsHomeError('CONFIG', `[home] agent is false in ${file}: lookups do not use an agent`)
    this.socketPath = this.config.home.agent_socket
    const unsafe = unsafeSocketDir(this.socketPath)
    if (unsafe !== undefined)
      throw new EfsHomeError('CONFIG', `[home] agent_socket ${this.socketPath}: ${unsafe}; lookups will not use an agent there`)
    this.files = agentFiles(this.socketPath)
    this.server = createServer((socket) => this.onConnection(socket))
  }

  /** Listens (unless another agent already answers there) and runs until a signal, idleness or retirement. */
  async run(): Promise<number> {
    makeTrustedDir(dirname(this.socketPath), 'the [home] agent_socket directory')
    const listening = await withLock(this.files.binding, 5000, async () => {
      // A socket file with a live agent behind it: that agent serves; one without is a dead agent's.
      if ((await askAgent(this.socketPath, { kind: 'status' }, 1000)).kind === 'answer') return false
      rmSync(this.socketPath, { force: true })
      await listenOnce(this.server, this.socketPath)
      writeFileAtomic(this.files.pid, pidFileText(ownIdentity()))
      return true
    })
    unlock(this.files.starting)
    if (!listening) {
      this.log('another agent already answers on this socket')
      return 0
    }
    this.log(`answering lookups for ${this.file} on ${this.socketPath}`)
    await new Promise<void>((done) => {
      this.stopped = done
      this.armIdle()
      process.once('SIGTERM', () => void this.shutdown('SIGTERM'))
      process.once('SIGINT', () => void this.shutdown('SIGINT'))
    })
    return 0
  }

  /** The config to answer with, re-read when the file's text changed (an edit within the same second too); an error answers like the map's own load would. */
  private currentConfig(): Config {
    const now = readConfigText(this.file)
    if (now !== this.version) {
      this.config = parseConfig(this.file, now)
      this.version = now
      this.pool.close()
      this.pool = new ConnectionPool()
      this.log(`re-read ${this.file}`)
      if (!this.config.home.agent || this.config.home.agent_socket !== this.socketPath) this.retiring = true
    }
    return this.config
  }

  private async lookup(request: Extract<AgentRequest, { kind: 'lookup' }>): Promise<AgentAnswer> {
    if (resolve(request.config) !== this.file)
      return { ok: false, declined: true, error: `this agent answers for ${this.file}, not ${request.config}` }
    try {
      const current = this.currentConfig()
      const deadline = new Deadline(Math.min(request.deadlineMs / 1000, current.home.deadline))
      const result = await lookupHome(current, request.key, { deadline, pool: this.pool })
      this.answered += 1
      return { ok: true, text: result.text }
    } catch (err) {
      return { ok: false, error: oneLine(err) }
    }
  }

  private status(): AgentAnswer {
    const { file, socketPath, answered } = this
    const rssMb = Math.round(process.memoryUsage.rss() / 1048576)
    return {
      ok: true,
      text: JSON.stringify({
        pid: process.pid,
        config: file,
        socket: socketPath,
        started: Math.floor(this.started / 1000),
        answered,
        rssMb,
      }),
    }
  }

  private answer(line: string): Promise<AgentAnswer> {
    const request = parseRequest(line)
    if (request === undefined) return Promise.resolve({ ok: false, error: 'a request that is not one' })
    return request.kind === 'status' ? Promise.resolve(this.status()) : this.lookup(request)
  }

  private onConnection(socket: Socket): void {
    this.inFlight += 1
    clearTimeout(this.idle)
    socket.on('error', () => undefined)
    socket.on('close', () => {
      this.inFlight -= 1
      if (this.retiring && this.inFlight === 0) void this.shutdown('the config no longer names this agent at this socket')
      else this.armIdle()
    })
    readOneLine(
      socket,
      (line) => void this.answer(line).then((answer) => socket.end(`${JSON.stringify(answer)}\n`)),
      () => socket.destroy(),
    )
  }

  /** (Re)starts the idle clock; it runs only while no question is being answered. */
  private armIdle(): void {
    clearTimeout(this.idle)
    if (this.inFlight > 0 || this.stopping) return
    const seconds = this.config.home.agent_idle
    this.idle = setTimeout(() => void this.shutdown(`idle for ${seconds} s`), seconds * 1000)
  }

  private async shutdown(why: string): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    clearTimeout(this.idle)
    await new Promise<void>((done) => this.server.close(() => done()))
    this.pool.close()
    // Only what is still ours: a successor may already own the socket.
    if (readPidFile(this.files.pid)?.pid === process.pid) {
      rmSync(this.socketPath, { force: true })
      rmSync(this.files.pid, { force: true })
    }
    this.log(`exiting after ${this.answered} lookups: ${why}`)
    this.stopped()
  }
}

export function runAgent(configFile: string, log: (line: string) => void): Promise<number> {
  return new LookupAgent(resolve(configFile), log).run()
}
