// Logs of the long-running parts (agent, proxy, supervisor), where
// administrators look: the journal, with an identifier and a level each.
// Under systemd (efs-home-agent.service, efs-home-proxy@.service) stderr is
// the journal already: lines go there with a <level> prefix, which journald
// reads. Started by a lookup, they write timestamped lines to their file in
// [proxy] state_dir or [home] agent_dir, and the same lines to journald's
// stream socket, as systemd-cat does, when journald runs.

import { fstatSync } from 'node:fs'
import { createConnection, type Socket } from 'node:net'
import { timestamped } from './log-line.js'

export type Level = 'err' | 'warning' | 'info'
export type ServiceLog = (line: string, level?: Level) => void

const PRIORITY: Record<Level, number> = { err: 3, warning: 4, info: 6 }

function journalSocket(): string {
  return process.env.EFS_HOME_JOURNAL_SOCKET ?? '/run/systemd/journal/stdout'
}

/** Is stderr a journal stream (systemd says so in JOURNAL_STREAM, as device:inode)? */
function stderrIsJournal(): boolean {
  const stream = process.env.JOURNAL_STREAM
  if (stream === undefined) return false
  try {
    const s = fstatSync(2)
    return stream === `${s.dev}:${s.ino}`
  } catch {
    return false
  }
}

/**
 * A connection to journald's stream socket: the header systemd-cat sends
 * (identifier, no unit, default priority info, <N> prefixes on, no
 * forwarding), then one entry per line. Lines before it connects wait;
 * without journald it is nothing, and the file keeps every line.
 */
class JournalStream {
  private socket: Socket | undefined
  private ready = false
  private waiting: string[] = []

  constructor(identifier: string) {
    const socket = createConnection(journalSocket())
    socket.unref()
    socket.on('connect', () => {
      socket.write(`${identifier}\n\n6\n1\n0\n0\n0\n${this.waiting.join('')}`)
      this.waiting = []
      this.ready = true
    })
    // No journald (a container, a host without systemd): the file is the log.
    socket.on('error', () => {
      this.socket = undefined
      this.waiting = []
    })
    this.socket = socket
  }

  write(text: string): void {
    if (this.socket === undefined) return
    if (this.ready) this.socket.write(text)
    else if (this.waiting.length < 1000) this.waiting.push(text)
  }
}

/** The log of a long-running part: `identifier` in the journal, `err` its stderr. */
export function serviceLog(identifier: string, err: (text: string) => void): ServiceLog {
  // One line per entry: a value that brought a newline cannot forge a second one.
  const oneLine = (line: string) => line.replace(/[\r\n]+/g, ' ')
  if (stderrIsJournal()) return (line, level = 'info') => err(`<${PRIORITY[level]}>${oneLine(line)}`)
  let journal: JournalStream | undefined
  return (line, level = 'info') => {
    err(timestamped(oneLine(line)))
    journal ??= new JournalStream(identifier)
    journal.write(`<${PRIORITY[level]}>${oneLine(line)}\n`)
  }
}
