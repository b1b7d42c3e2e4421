// efs-home lookup USER: the program map's lookup, step by step.

import { agentStatus } from '../../agent/status.js'
import { type Config, loadConfig } from '../../config/load.js'
import { EfsHomeError, oneLine } from '../../errors.js'
import { allTrees, declaredTree } from '../../lookup/tree.js'
import { lookupHome, type Step } from '../../lookup/lookup.js'
import { formatMountOptions } from '../../mount/options.js'
import { errorCodeOf, EXIT } from '../exit.js'
import type { Output } from '../output.js'

function describe(step: Step): string {
  switch (step.step) {
    case 'directory': {
      const tried = step.attempts.map(
        (a) =>
          `${a.uri}${a.demoted === true ? ' (tried last: failed recently)' : ''} ${a.ok ? 'answered' : `failed (${a.error ?? 'error'})`} in ${a.ms} ms`,
      )
      return `directory       ${tried.join('; ') || 'no server tried'}`
    }
    case 'cache':
      return `cache           ${step.location} from ${step.file}, confirmed ${step.ageSeconds} s ago`
    case 'location':
      return `location        ${step.location.raw}: server ${step.location.server}, export ${step.location.export}, path ${step.location.rest}`
    case 'classification': {
      const s = step.server
      const efs =
        s.kind === 'efs' ? `, file system ${s.fsId ?? 'unknown'}, region ${s.region}${s.az === undefined ? '' : `, zone ${s.az}`}` : ''
      return `classification  ${s.name} is ${s.kind === 'efs' ? 'EFS' : 'classic NFS'} (by ${s.reason}${efs})`
    }
    case 'host':
      return `host            ${step.host} (${step.source}${step.notes.length > 0 ? `: ${step.notes.join('; ')}` : ''})`
    case 'proxy': {
      const cert = [step.iam ? 'IAM identity' : undefined, step.accessPoint === undefined ? undefined : `access point ${step.accessPoint}`]
        .filter((w) => w !== undefined)
        .join(' and ')
      return `proxy           TLS proxy for ${step.fsId} up on 127.0.0.1:${step.port}${cert === '' ? '' : `, presenting a client certificate with its ${cert}`}`
    }
    case 'entry':
      return `entry           ${step.text}\n                (fstype ${step.entry.fstype}, host ${step.entry.host}, path ${step.entry.path}, options ${formatMountOptions(step.entry.options)})`
  }
}

/** Which of the two ways automount's lookups of this config are answered now (README, "Two ways to answer"). */
async function answeredBy(config: Config): Promise<string> {
  if (!config.home.agent) return 'the Node map, which does every lookup itself ([home] agent = false)'
  const where = `127.0.0.1:${config.home.agent_port}`
  const s = await agentStatus(config.home, 1000)
  if (s.up && s.config === config.file) return `the agent on ${where} (PID ${s.pid}), asked by the thin map: the fast path`
  if (s.up) return `the Node map, by itself: the agent on ${where} serves ${s.config}`
  if (s.state === 'absent') return `the Node map this time; it starts the agent on ${where} for the next lookups`
  return `the Node map, by itself: the agent on ${where} is ${s.problem}`
}

export async function lookupCommand(user: string, options: { tree: string; json: boolean }, out: Output): Promise<number> {
  const { json } = options
  const steps: Step[] = []
  const config = loadConfig()
  const tree = declaredTree(config, options.tree)
  if (tree === undefined) {
    const known = allTrees(config).map((t) => t.mountPoint)
    throw new EfsHomeError('CONFIG', `--tree ${options.tree}: not a tree of ${config.file} (trees: ${known.join(', ')})`)
  }
  const path = await answeredBy(config)
  const source = tree.subPath === undefined ? tree.attribute : `${tree.attribute} + /${tree.subPath}`
  if (!json) out.out(`config          ${config.file}\ntree            ${tree.mountPoint} (${source})\nanswered by     ${path}`)
  try {
    const result = await lookupHome(config, user, {
      tree,
      observe: (step) => {
        steps.push(step)
        if (!json) out.out(describe(step))
      },
    })
    if (json)
      out.out(
        JSON.stringify(
          { key: user, tree: tree.mountPoint, ok: true, answeredBy: path, source: result.source, entry: result.text, steps },
          null,
          2,
        ),
      )
    return EXIT.ok
  } catch (err) {
    // No entry is this command's answer, not its failure: explained on stdout like the rest.
    const code = errorCodeOf(err)
    if (json)
      out.out(
        JSON.stringify(
          { key: user, tree: tree.mountPoint, ok: false, answeredBy: path, error: { code, message: oneLine(err) }, steps },
          null,
          2,
        ),
      )
    else out.out(`result          no entry: ${oneLine(err)} [${code}]`)
    return EXIT.no
  }
}
