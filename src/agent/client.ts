// The Node map's side of the lookup agent: its [home] settings, read without
// loading the rest, and one question over loopback TCP.

import { connect } from 'node:net'
import { decodeSections } from '../config/ini-file.js'
import { MAP_OPTIONS } from '../config/map-options.js'
import { readSection, type Values } from '../config/option.js'
import { readKeys } from './files.js'
import { type AgentAnswer, type AgentRequest, parseAnswer, readOneLine, requestLine } from './protocol.js'

export type MapSettings = Values<typeof MAP_OPTIONS>

/** [home] deadline and agent settings from the config file's `text`; a ConfigError as parseConfig would throw it. */
export function readMapSettings(file: string, text: string): MapSettings {
  const home = decodeSections(file, text).home ?? {}
  // Only these keys: the full load checks the others.
  return readSection(file, 'home', MAP_OPTIONS, home, false)
}

/**
 * How long a lookup waits for the agent: the deadline less what doing the
 * work itself takes, or agent_wait if that is shorter (2 s, or half a deadline under 4 s), in
 * whole milliseconds. maps/efs-home-map computes the same.
 */
export function agentWaitMs(settings: Pick<MapSettings, 'deadline' | 'agent_wait'>): number {
  const deadlineMs = Math.round(settings.deadline * 1000)
  const reserveMs = Math.min(2000, Math.floor(deadlineMs / 2))
  const wanted = settings.agent_wait === undefined ? Number.POSITIVE_INFINITY : Math.round(settings.agent_wait * 1000)
  return Math.min(wanted, deadlineMs - reserveMs)
}

// The agent must answer a little before the map stops waiting.
const MARGIN_MS = 200

/** The deadline a lookup gives the agent when it waits `waitMs` for it. */
export const agentDeadlineMs = (waitMs: number) => Math.max(1, waitMs - MARGIN_MS)

export type Asked =
  | { readonly kind: 'answer'; readonly answer: AgentAnswer }
  /** Nobody listens there (no keys, or nothing on the port): start one. */
  | { readonly kind: 'absent' }
  /** Connected, but no usable answer within the time given: replace it. */
  | { readonly kind: 'unresponsive'; readonly why: string }

export const AGENT_HOST = '127.0.0.1'

export function askAgent(settings: Pick<MapSettings, 'agent_dir' | 'agent_port'>, request: AgentRequest, ms: number): Promise<Asked> {
  const keys = readKeys(settings.agent_dir)
  if (keys === undefined) return Promise.resolve({ kind: 'absent' })
  return new Promise((resolve) => {
    let connected = false
    let settled = false
    const socket = connect({ host: AGENT_HOST, port: settings.agent_port })
    const settle = (asked: Asked) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(asked)
    }
    const timer = setTimeout(() => settle({ kind: 'unresponsive', why: `no answer within ${ms} ms` }), ms)
    socket.once('connect', () => {
      connected = true
      socket.write(requestLine(keys.ask, request))
    })
    socket.on('error', (err) => settle(connected ? { kind: 'unresponsive', why: err.message } : { kind: 'absent' }))
    readOneLine(
      socket,
      (line) => {
        const parsed = parseAnswer(line, keys.answer)
        settle('bad' in parsed ? { kind: 'unresponsive', why: parsed.bad } : { kind: 'answer', answer: parsed.answer })
      },
      (why) => settle({ kind: 'unresponsive', why }),
    )
  })
}
