// efs-home-map KEY, the Node map: what maps/efs-home-map (the thin map that
// automount runs) hands a lookup to when the resident agent cannot answer it,
// and what answers by itself where the thin map is not installed. automount
// waits for a program map however long it takes, so it loads only what a
// lookup needs and always finishes within [home] deadline.
//
// Contract: one map entry on stdout and exit 0; or nothing on stdout, one
// line on stderr (automount logs it) and exit 1 — nothing on stderr for a
// user with no location in a tree besides /home (every `ls` would log it).
//
// With [home] agent (the default) the resident agent answers, and this
// process loads almost nothing; when no agent can answer, the lookup is
// done here, with the same code, and an agent is started for the next one.

import { resolve } from 'node:path'
import { agentDeadlineMs, agentWaitMs, askAgent, type MapSettings, readMapSettings } from '../agent/client.js'
import { agentUnsafe } from '../agent/status.js'
import { configFilePath, readConfigText } from '../config/ini-file.js'
import { EfsHomeError, oneLine } from '../errors.js'
import { checkKey } from '../lookup/key.js'
import { Deadline } from '../util/deadline.js'
import { type Output, stdOutput } from './output.js'

/** `silent`: the user has no location in this tree; ENOENT with no line in automount's log. */
type Outcome = { readonly code: 0; readonly text: string } | { readonly code: 1; readonly error: string; readonly silent?: boolean }

/**
 * What the thin map found before it handed the lookup over: the agent did
 * not answer in time (or not with its key), or declined; and how much of
 * the deadline it spent. Set only by maps/efs-home-map.
 */
interface Handover {
  readonly agent: 'unresponsive' | 'declined' | undefined
  readonly spentMs: number
}

function handover(env: NodeJS.ProcessEnv): Handover {
  const agent = env.EFS_HOME_MAP_AGENT
  const spent = Number(env.EFS_HOME_MAP_SPENT_MS ?? 0)
  return {
    agent: agent === 'unresponsive' || agent === 'declined' ? agent : undefined,
    spentMs: Number.isFinite(spent) && spent > 0 ? spent : 0,
  }
}

/** Replaces an agent that did not answer, or starts one where there is none; best effort, the lookup goes on either way. */
async function restartAgent(file: string, settings: MapSettings, unresponsive: boolean): Promise<void> {
  const { retireAgent, startAgent } = await import('../agent/start.js')
  try {
    if (unresponsive) retireAgent(settings.agent_dir)
    startAgent(file, settings.agent_dir)
  } catch {
    // The lookup is answered here; efs-home doctor and agent status say why no agent runs.
  }
}

/** The agent's answer, or undefined when the lookup must be done here. */
async function viaAgent(file: string, tree: string, key: string, settings: MapSettings, deadline: Deadline): Promise<Outcome | undefined> {
  const waitMs = Math.min(agentWaitMs(settings), deadline.remainingMs())
  const request = { kind: 'lookup', via: 'node', config: file, tree, key, deadlineMs: agentDeadlineMs(waitMs) } as const
  const asked = await askAgent(settings, request, waitMs)
  if (asked.kind === 'answer') {
    if (asked.answer.ok) return { code: 0, text: asked.answer.text }
    if (asked.answer.declined !== true) return { code: 1, error: asked.answer.error, silent: asked.answer.absent === true }
    return undefined
  }
  await restartAgent(file, settings, asked.kind === 'unresponsive')
  return undefined
}

async function inProcess(file: string, text: string, tree: string, key: string, deadline: Deadline | undefined): Promise<Outcome> {
  const [{ parseConfig }, { lookupHome }, { treeAt }] = await Promise.all([
    import('../config/load.js'),
    import('../lookup/lookup.js'),
    import('../lookup/tree.js'),
  ])
  const config = parseConfig(file, text)
  const result = await lookupHome(config, key, { tree: treeAt(config, tree), ...(deadline === undefined ? {} : { deadline }) })
  return { code: 0, text: result.text }
}

/**
 * The mount point this lookup is for: automount runs a program map in it
 * (src/lookup/tree.ts). '/' (no tree: /home) when it has no usable name.
 */
function mountPoint(): string {
  try {
    const here = process.cwd()
    return /^\/\S*$/.test(here) ? here : '/'
  } catch {
    return '/' // a directory removed under us
  }
}

/** Whether this lookup may ask the agent: it is wanted, nobody else could be answering on its port, and the question is one. */
function mayAsk(settings: MapSettings, file: string, key: string): boolean {
  if (!settings.agent || /[\r\n\0]/.test(file)) return false
  // A bad key is refused here, in the words the lookup itself would use.
  checkKey(key)
  return agentUnsafe(settings) === undefined
}

export async function main(argv: readonly string[], io: Output = stdOutput, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // No options at all: whatever automount passes is a key, and a key such as
  // `--help` must never make us print something automount would mount.
  if (argv.length !== 1 || argv[0] === undefined) {
    io.err('usage: efs-home-map KEY (the autofs program map for /home; see efs-home lookup for a readable trace)')
    return 2
  }
  const key = argv[0]
  const tree = mountPoint()
  const given = handover(env)
  let outcome: Outcome | undefined
  let deadline: Deadline | undefined
  try {
    const file = resolve(configFilePath(env))
    const text = readConfigText(file)
    let settings: MapSettings | undefined
    try {
      settings = readMapSettings(file, text)
    } catch {
      // A config that is not valid is reported by the full parse below, in its own words.
    }
    if (settings !== undefined) {
      deadline = new Deadline(settings.deadline, Date.now() - Math.min(given.spentMs, settings.deadline * 1000))
      if (given.agent === undefined && mayAsk(settings, file, key)) outcome = await viaAgent(file, tree, key, settings, deadline)
      else if (given.agent === 'unresponsive' && agentUnsafe(settings) === undefined) await restartAgent(file, settings, true)
    }
    outcome ??= await inProcess(file, text, tree, key, deadline)
  } catch (err) {
    outcome = { code: 1, error: oneLine(err), silent: err instanceof EfsHomeError && err.code === 'ABSENT' }
  }
  if (outcome.code === 0) io.out(outcome.text)
  else if (outcome.silent !== true) io.err(`efs-home-map: ${outcome.error}`)
  return outcome.code
}
