// The resident lookup agent (`efs-home agent run`): one process per host,
// run by systemd (efs-home-agent.service, --resident) or started by the first
// lookup that finds none. It answers the program maps on 127.0.0.1:[home]
// agent_port with the very lookupHome the Node map would run itself: the
// thin map (maps/efs-home-map, bash) then costs no Node start-up at all.
//
// Only root gets answers: a question must carry the agent's ask key, from a
// file only root can read (TCP has no SO_PEERCRED, and the peer's owner in
// /proc/net/tcp costs a scan of every socket on the host per lookup; the
// firewall's owner rule also refuses non-root connections to the port).
// Every answer starts with the answer key from the same file, so a map knows
// the answer is the agent's and not another process's that got the port.
//
// It re-reads the config file when the file changes, declines questions for
// another config file, and exits after [home] agent_idle without a lookup
// (not when resident) or when the config no longer wants it on this port.

import { rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { readConfigText } from '../config/ini-file.js'
import { type Config, parseConfig } from '../config/load.js'
import { EfsHomeError, errnoCode, oneLine } from '../errors.js'
import { ConnectionPool } from '../directory/pool.js'
import { lookupHome } from '../lookup/lookup.js'
import { treeAt } from '../lookup/tree.js'
import { BatchedRecorder } from '../cache/recorder.js'
import { AGENT, bindableByAnyone } from '../util/privileged-port.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { makeTrustedDir } from '../util/trusted-files.js'
import { ownIdentity } from '../util/process-identity.js'
import { Deadline } from '../util/deadline.js'
import { unlock, withLock } from '../util/lock.js'
import { AGENT_HOST, askAgent } from './client.js'
import { agentFiles, agentPid, keysFileText, newKeys, pidFileText, readPidFile } from './files.js'
import { type AgentAnswer, type AgentRequest, answerLine, parseRequest, readOneLine, type Via } from './protocol.js'
import type { ServiceLog } from '../util/service-log.js'

export interface AgentOptions {
  /** Run by systemd: never idle out, and take the port over from an agent a lookup started. */
  readonly resident: boolean
  readonly log: ServiceLog
}

/** How `agent run` ends: 0 done (idle, signalled, moved: start again), 1 the config wants no agent here. */
export type AgentExit = 0 | 1

// How long what lookups learnt waits to be written to the last-known-good cache, with what follows it.
const CACHE_WRITE_MS = 2000

// How often the agent looks at its config file between lookups.
const CONFIG_RECHECK_MS = 2000

// How long a resident agent waits for a lookup-started one to let the port go.
const TAKEOVER_MS = 5000

function listenOnce(server: Server, port: number): Promise<void> {
  return new Promise<void>((done, fail) => {
    server.once('error', fail)
    // A deep queue (the kernel caps it at net.core.somaxconn): maps/efs-home-map connects without a timeout.
    server.listen({ host: AGENT_HOST, port, exclusive: true, backlog: 4096 }, () => {
      server.off('error', fail)
      done()
    })
  })
}

/** The agent's life: its config, its kept connections, its port and its idle clock, as named parts. */
class LookupAgent {
  private version: string
  private config: Config
  /** Connections to the directory, kept between lookups; new ones when the config changes. */
  private pool = new ConnectionPool()
  /** What lookups learnt, for each tree's last-known-good cache: written together, not once per lookup. */
  private recorders = new Map<string, BatchedRecorder>()
  private readonly port: number
  private readonly dir: string
  private readonly files: ReturnType<typeof agentFiles>
  private readonly keys = newKeys()
  private readonly started = Date.now()
  private readonly server: Server
  private readonly answered: Record<Via, number> = { thin: 0, node: 0 }
  private refused = 0
  /** The config error last logged between lookups. */
  private reported = ''
  private inFlight = 0
  /** Why the agent exits once the questions in flight are answered: the config moved it, or wants none. */
  private retiring: { why: string; exit: AgentExit } | undefined
  private stopping = false
  private idle: NodeJS.Timeout | undefined
  private stopped: (exit: AgentExit) => void = () => undefined

  constructor(
    private readonly file: string,
    private readonly options: AgentOptions,
  ) {
    this.version = readConfigText(file)
    this.config = parseConfig(file, this.version)
    this.port = this.config.home.agent_port
    this.dir = this.config.home.agent_dir
    this.files = agentFiles(this.dir)
    this.server = createServer((socket) => this.onConnection(socket))
  }

  /** Listens (unless another agent already answers there) and runs until a signal, idleness or retirement. */
  async run(): Promise<AgentExit> {
    if (!this.config.home.agent) {
      this.options.log(`[home] agent is false in ${this.file}: lookups do not use an agent`)
      return 1
    }
    const open = bindableByAnyone(this.port, AGENT)
    if (open !== undefined) throw new EfsHomeError('CONFIG', `[home] agent_port ${this.port}: ${open}`)
    makeTrustedDir(this.dir, 'the [home] agent_dir directory')
    if (this.options.resident) await this.takeOver()
    const listening = await withLock(this.files.binding, 5000, async () => {
      // A live agent on the port serves; a keys file without one is a dead agent's.
      if ((await askAgent(this.config.home, { kind: 'status' }, 1000)).kind === 'answer') return false
      // The keys are in place before the port: the first question and answer are checked against them.
      writeFileAtomic(this.files.keys, keysFileText(this.keys), 0o600)
      try {
        await listenOnce(this.server, this.port)
      } catch (err) {
        rmSync(this.files.keys, { force: true })
        if (errnoCode(err) === 'EADDRINUSE')
          throw new EfsHomeError(
            'CONFIG',
            `[home] agent_port ${this.port} is taken by a process that is not an efs-home agent (ss -ltnp 'sport = :${this.port}' names it)`,
          )
        throw err
      }
      writeFileAtomic(this.files.pid, pidFileText(ownIdentity()))
      return true
    })
    unlock(this.files.starting)
    if (!listening) {
      this.options.log('another agent already answers on this port')
      return 0
    }
    this.options.log(`answering lookups for ${this.file} on ${AGENT_HOST}:${this.port}${this.options.resident ? ' (resident)' : ''}`)
    return await new Promise<AgentExit>((done) => {
      this.stopped = done
      this.armIdle()
      // An edit that turns the agent off or moves it takes effect without waiting for a lookup.
      setInterval(() => this.recheckConfig(), CONFIG_RECHECK_MS).unref()
      process.once('SIGTERM', () => void this.shutdown('SIGTERM', 0))
      process.once('SIGINT', () => void this.shutdown('SIGINT', 0))
    })
  }

  /** Asks an agent a lookup started to stop, and waits for its port (systemd's agent is the one to keep). */
  private async takeOver(): Promise<void> {
    const other = agentPid(this.dir)
    if (other === undefined || other === process.pid) return
    this.options.log(`taking over from the agent a lookup started (PID ${other})`)
    process.kill(other, 'SIGTERM')
    const until = Date.now() + TAKEOVER_MS
    while (agentPid(this.dir) === other && Date.now() < until) await sleep(50)
  }

  /** The config to answer with, re-read when the file's text changed (an edit within the same second too); an error answers like the map's own load would. */
  private currentConfig(): Config {
    const now = readConfigText(this.file)
    if (now !== this.version) {
      this.config = parseConfig(this.file, now)
      this.version = now
      this.pool.close()
      this.pool = new ConnectionPool()
      this.flushRecorders()
      this.options.log(`re-read ${this.file}`)
      const home = this.config.home
      if (!home.agent) this.retiring = { why: 'the config no longer wants an agent', exit: 1 }
      else if (home.agent_port !== this.port || home.agent_dir !== this.dir)
        this.retiring = { why: 'the config moved the agent to another port or directory', exit: 0 }
    }
    return this.config
  }

  private recorderFor(file: string): BatchedRecorder {
    let recorder = this.recorders.get(file)
    if (recorder === undefined) {
      recorder = new BatchedRecorder(file, CACHE_WRITE_MS)
      this.recorders.set(file, recorder)
    }
    return recorder
  }

  private flushRecorders(): void {
    for (const recorder of this.recorders.values()) recorder.flush()
    this.recorders = new Map()
  }

  private recheckConfig(): void {
    try {
      this.currentConfig()
    } catch (err) {
      // The next lookup answers with this error, as the map's own load would; logged once.
      const why = oneLine(err)
      if (why !== this.reported) this.options.log(`cannot use ${this.file}: ${why}`, 'warning')
      this.reported = why
    }
    if (this.retiring !== undefined && this.inFlight === 0) void this.shutdown(this.retiring.why, this.retiring.exit)
  }

  private async lookup(request: Extract<AgentRequest, { kind: 'lookup' }>): Promise<AgentAnswer> {
    if (resolve(request.config) !== this.file)
      return { ok: false, declined: true, error: `this agent answers for ${this.file}, not ${request.config}` }
    try {
      const current = this.currentConfig()
      const deadline = new Deadline(Math.min(request.deadlineMs / 1000, current.home.deadline))
      const result = await lookupHome(current, request.key, {
        deadline,
        pool: this.pool,
        recorderFor: (file) => this.recorderFor(file),
        tree: treeAt(current, request.tree),
      })
      this.answered[request.via] += 1
      return { ok: true, text: result.text }
    } catch (err) {
      return { ok: false, error: oneLine(err), ...(err instanceof EfsHomeError && err.code === 'ABSENT' ? { absent: true } : {}) }
    }
  }

  private status(): AgentAnswer {
    const { file, port, answered, refused } = this
    const rssMb = Math.round(process.memoryUsage.rss() / 1048576)
    return {
      ok: true,
      text: JSON.stringify({
        pid: process.pid,
        config: file,
        port,
        resident: this.options.resident,
        started: Math.floor(this.started / 1000),
        answered: answered.thin + answered.node,
        answeredThin: answered.thin,
        answeredNode: answered.node,
        refused,
        rssMb,
      }),
    }
  }

  private onConnection(socket: Socket): void {
    this.inFlight += 1
    clearTimeout(this.idle)
    socket.on('error', () => undefined)
    socket.on('close', () => {
      this.inFlight -= 1
      if (this.retiring !== undefined && this.inFlight === 0) void this.shutdown(this.retiring.why, this.retiring.exit)
      else this.armIdle()
    })
    readOneLine(
      socket,
      (line) => {
        const request = parseRequest(line, this.keys.ask)
        if (request === undefined) {
          // Not root's question (or not a question): no answer, not even an error.
          this.refused += 1
          socket.destroy()
          return
        }
        const answered = request.kind === 'status' ? Promise.resolve(this.status()) : this.lookup(request)
        void answered.then((answer) => socket.end(answerLine(this.keys.answer, answer)))
      },
      () => socket.destroy(),
    )
  }

  /** (Re)starts the idle clock; it runs only while no question is being answered, and never for a resident agent. */
  private armIdle(): void {
    clearTimeout(this.idle)
    if (this.inFlight > 0 || this.stopping || this.options.resident) return
    const seconds = this.config.home.agent_idle
    this.idle = setTimeout(() => void this.shutdown(`idle for ${seconds} s`, 0), seconds * 1000)
  }

  private async shutdown(why: string, exit: AgentExit): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    clearTimeout(this.idle)
    await new Promise<void>((done) => this.server.close(() => done()))
    this.pool.close()
    this.flushRecorders()
    // Only what is still ours: a successor may already own the files.
    if (readPidFile(this.files.pid)?.pid === process.pid) {
      rmSync(this.files.keys, { force: true })
      rmSync(this.files.pid, { force: true })
    }
    const total = this.answered.thin + this.answered.node
    this.options.log(`exiting after ${total} lookups: ${why}`)
    this.stopped(exit)
  }
}

export function runAgent(configFile: string, options: AgentOptions): Promise<AgentExit> {
  return new LookupAgent(resolve(configFile), options).run()
}
