// The program map's side of the lookup agent: its [home] settings, read
// without loading the rest, and one question over the agent's socket.

import { connect } from 'node:net'
import { decodeSections } from '../config/ini-file.js'
import { MAP_OPTIONS } from '../config/map-options.js'
import { readSection, type Values } from '../config/option.js'
import { type AgentAnswer, type AgentRequest, parseAnswer, readOneLine } from './protocol.js'

export type MapSettings = Values<typeof MAP_OPTIONS>

/** [home] deadline and agent settings from the config file's `text`; a ConfigError as parseConfig would throw it. */
export function readMapSettings(file: string, text: string): MapSettings {
  const home = decodeSections(file, text).home ?? {}
  // Only these keys: the full load checks the others.
  return readSection(file, 'home', MAP_OPTIONS, home, false)
}

export type Asked =
  | { readonly kind: 'answer'; readonly answer: AgentAnswer }
  /** Nobody listens there (no socket, or a dead agent's): start one. */
  | { readonly kind: 'absent' }
  /** Connected, but no usable answer within the time given: replace it. */
  | { readonly kind: 'unresponsive'; readonly why: string }

export function askAgent(socketPath: string, request: AgentRequest, ms: number): Promise<Asked> {
  return new Promise((resolve) => {
    let connected = false
    let settled = false
    const socket = connect({ path: socketPath })
    const settle = (asked: Asked) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(asked)
    }
    const timer = setTimeout(() => settle(connected ? { kind: 'unresponsive', why: `no answer within ${ms} ms` } : { kind: 'absent' }), ms)
    socket.once('connect', () => {
      connected = true
      socket.write(`${JSON.stringify(request)}\n`)
    })
    socket.on('error', (err) => settle(connected ? { kind: 'unresponsive', why: err.message } : { kind: 'absent' }))
    readOneLine(
      socket,
      (line) => {
        const answer = parseAnswer(line)
        settle(answer === undefined ? { kind: 'unresponsive', why: 'an answer that is not one' } : { kind: 'answer', answer })
      },
      (why) => settle({ kind: 'unresponsive', why }),
    )
  })
}
