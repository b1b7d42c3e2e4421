// What a program map and the lookup agent say to each other over loopback
// TCP: one line each way, in words a bash script can split without forking.
//
//   question: lookup <ask> <via> <deadline-ms> <tree> <key> <config file>     (via: thin | node)
//             status <ask>
//   answer:   <answer> ok <text> | <answer> no <error> | <answer> absent <why> | <answer> declined <why>
//
// <ask> and <answer> are the agent's two keys from its root-only keys file
// (src/agent/files.ts): a question without <ask> is not root's and gets no
// answer; an answer without <answer> is not the agent's. <tree> is the
// mount point automount serves (the map's working directory), the key is
// checked before it is sent (src/lookup/key.ts: no spaces), the config file
// is the rest of the line. <text> is one map entry (or, for status, a JSON object).

import type { Socket } from 'node:net'

/** Who asks: maps/efs-home-map (bash) or the Node map. */
export type Via = 'thin' | 'node'

export type AgentRequest =
  /** A lookup, for the config file the map would have read, within `deadlineMs`. */
  | {
      readonly kind: 'lookup'
      readonly via: Via
      readonly config: string
      /** The mount point the lookup is for (src/lookup/tree.ts). */
      readonly tree: string
      readonly key: string
      readonly deadlineMs: number
    }
  | { readonly kind: 'status' }

export type AgentAnswer =
  | { readonly ok: true; readonly text: string }
  /**
   * `declined`: not this agent's to answer (another config file); the map does the lookup itself.
   * `absent`: the user has no location in this tree: no entry, and the map says nothing.
   */
  | { readonly ok: false; readonly error: string; readonly declined?: boolean; readonly absent?: boolean }

// A question is a few hundred bytes; anything longer is not ours.
const MAX_LINE = 16 * 1024

/** Calls `onLine` with the first line `socket` sends; `onBad` when it sends too much, or ends first. */
export function readOneLine(socket: Socket, onLine: (line: string) => void, onBad: (why: string) => void): void {
  let buffered = ''
  let done = false
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    if (done) return
    buffered += chunk
    const end = buffered.indexOf('\n')
    if (end !== -1) {
      done = true
      onLine(buffered.slice(0, end))
    } else if (buffered.length > MAX_LINE) {
      done = true
      onBad(`a line longer than ${MAX_LINE} bytes`)
    }
  })
  socket.on('end', () => {
    if (!done) {
      done = true
      onBad('the connection ended before a whole line')
    }
  })
}

const ONE_LINE = /^[^\r\n\0]*$/
const LOOKUP_RE = /^lookup (\S+) (thin|node) ([1-9]\d{0,6}) (\/\S*) (\S+) (\/.*)$/
const STATUS_RE = /^status (\S+)$/

export function requestLine(ask: string, request: AgentRequest): string {
  return request.kind === 'status'
    ? `status ${ask}\n`
    : `lookup ${ask} ${request.via} ${request.deadlineMs} ${request.tree} ${request.key} ${request.config}\n`
}

/** The question `line` asks, if it is one and carries `ask`. */
export function parseRequest(line: string, ask: string): AgentRequest | undefined {
  if (STATUS_RE.exec(line)?.[1] === ask) return { kind: 'status' }
  const m = ONE_LINE.test(line) ? LOOKUP_RE.exec(line) : null
  if (m === null || m[1] !== ask) return undefined
  return { kind: 'lookup', via: m[2] as Via, deadlineMs: Number(m[3]), tree: m[4] ?? '', key: m[5] ?? '', config: m[6] ?? '' }
}

/** The answer's line; an error of several lines (never expected) is joined into one. */
export function answerLine(key: string, answer: AgentAnswer): string {
  const flat = (text: string) => text.replace(/[\r\n\0]+/g, ' ')
  if (answer.ok) return `${key} ok ${flat(answer.text)}\n`
  return `${key} ${answer.declined === true ? 'declined' : answer.absent === true ? 'absent' : 'no'} ${flat(answer.error)}\n`
}

/** The answer `line` carries, or why it is not the agent's answer (`key`: the agent's answer key). */
export function parseAnswer(line: string, key: string): { answer: AgentAnswer } | { bad: string } {
  const m = /^(\S+) (ok|no|absent|declined) (.*)$/.exec(line)
  if (m === null || !ONE_LINE.test(line)) return { bad: 'an answer that is not one' }
  if (m[1] !== key) return { bad: "an answer without the agent's key" }
  const text = m[3] ?? ''
  if (m[2] === 'ok') return text === '' ? { bad: 'an empty answer' } : { answer: { ok: true, text } }
  return { answer: { ok: false, error: text, ...(m[2] === 'declined' ? { declined: true } : m[2] === 'absent' ? { absent: true } : {}) } }
}
