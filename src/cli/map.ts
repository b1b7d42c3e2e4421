// efs-home-map KEY: the autofs program map for /home. automount runs it for
// every lookup and waits for it however long it takes, so it loads only
// what a lookup needs and always finishes within [home] deadline.
//
// Contract: one map entry on stdout and exit 0; or nothing on stdout, one
// line on stderr (automount logs it) and exit 1.
//
// With [home] agent (the default) the resident agent answers, and this
// process loads almost nothing; when no agent can answer, the lookup is
// done here, with the same code, and an agent is started for the next one.

import { resolve } from 'node:path'
import { askAgent, type MapSettings, readMapSettings } from '../agent/client.js'
import { unsafeSocketDir } from '../agent/files.js'
import { configFilePath, readConfigText } from '../config/ini-file.js'
import { oneLine } from '../errors.js'
import { Deadline } from '../util/deadline.js'
import { type Output, stdOutput } from './output.js'

// What a lookup keeps for doing the work itself, should the agent fail it.
const RESERVE_MS = 2000
// The agent must answer a little before the map stops waiting.
const MARGIN_MS = 200

type Outcome = { readonly code: 0; readonly text: string } | { readonly code: 1; readonly error: string }

/** The agent's answer, or undefined when the lookup must be done here. */
async function viaAgent(file: string, key: string, settings: MapSettings, deadline: Deadline): Promise<Outcome | undefined> {
  const waitMs = deadline.remainingMs() - Math.min(RESERVE_MS, deadline.remainingMs() / 2)
  const asked = await askAgent(
    settings.agent_socket,
    { kind: 'lookup', config: file, key, deadlineMs: Math.max(1, waitMs - MARGIN_MS) },
    waitMs,
  )
  if (asked.kind === 'answer') {
    if (asked.answer.ok) return { code: 0, text: asked.answer.text }
    if (asked.answer.declined !== true) return { code: 1, error: asked.answer.error }
    return undefined
  }
  const { retireAgent, startAgent } = await import('../agent/start.js')
  if (asked.kind === 'unresponsive') retireAgent(settings.agent_socket)
  startAgent(file, settings.agent_socket)
  return undefined
}

async function inProcess(file: string, text: string, key: string, deadline: Deadline | undefined): Promise<Outcome> {
  const [{ parseConfig }, { lookupHome }] = await Promise.all([import('../config/load.js'), import('../lookup/lookup.js')])
  const result = await lookupHome(parseConfig(file, text), key, deadline === undefined ? {} : { deadline })
  return { code: 0, text: result.text }
}

export async function main(argv: readonly string[], io: Output = stdOutput): Promise<number> {
  // No options at all: whatever automount passes is a key, and a key such as
  // `--help` must never make us print something automount would mount.
  if (argv.length !== 1 || argv[0] === undefined) {
    io.err('usage: efs-home-map KEY (the autofs program map for /home; see efs-home lookup for a readable trace)')
    return 2
  }
  const key = argv[0]
  let outcome: Outcome | undefined
  let deadline: Deadline | undefined
  try {
    const file = resolve(configFilePath())
    const text = readConfigText(file)
    let settings: MapSettings | undefined
    try {
      settings = readMapSettings(file, text)
    } catch {
      // A config that is not valid is reported by the full parse below, in its own words.
    }
    if (settings !== undefined) {
      deadline = new Deadline(settings.deadline)
      // An agent socket in a directory others can write to is never used (efs-home agent status says why).
      if (settings.agent && unsafeSocketDir(settings.agent_socket) === undefined) outcome = await viaAgent(file, key, settings, deadline)
    }
    outcome ??= await inProcess(file, text, key, deadline)
  } catch (err) {
    outcome = { code: 1, error: oneLine(err) }
  }
  if (outcome.code === 0) io.out(outcome.text)
  else io.err(`efs-home-map: ${outcome.error}`)
  return outcome.code
}
