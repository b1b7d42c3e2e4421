// What the program map and the lookup agent say to each other over the
// agent's Unix socket: one JSON line each way.

import type { Socket } from 'node:net'

export type AgentRequest =
  /** A lookup, for the config file the map would have read, within `deadlineMs`. */
  { readonly kind: 'lookup'; readonly config: string; readonly key: string; readonly deadlineMs: number } | { readonly kind: 'status' }

export type AgentAnswer =
  | { readonly ok: true; readonly text: string }
  /** `declined`: not this agent's to answer (another config file); the map does the lookup itself. */
  | { readonly ok: false; readonly error: string; readonly declined?: boolean }

// A key is at most a few hundred bytes; anything longer is not ours.
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

/** The JSON object on `line`, or undefined for anything else. */
function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

export function parseRequest(line: string): AgentRequest | undefined {
  const v = parseObject(line)
  if (v?.kind === 'status') return { kind: 'status' }
  if (
    v?.kind !== 'lookup' ||
    typeof v.config !== 'string' ||
    typeof v.key !== 'string' ||
    typeof v.deadlineMs !== 'number' ||
    !(v.deadlineMs > 0)
  )
    return undefined
  return { kind: 'lookup', config: v.config, key: v.key, deadlineMs: v.deadlineMs }
}

export function parseAnswer(line: string): AgentAnswer | undefined {
  const v = parseObject(line)
  // automount reads one line: an answer of more is not one.
  if (v?.ok === true && typeof v.text === 'string' && !/[\r\n\0]/.test(v.text)) return { ok: true, text: v.text }
  if (v?.ok === false && typeof v.error === 'string')
    return { ok: false, error: v.error, ...(v.declined === true ? { declined: true } : {}) }
  return undefined
}
