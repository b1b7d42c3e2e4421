// efs-home rollout render: what the ansible role and the cfengine policy run
// to write the files they manage.

import { readFileSync } from 'node:fs'
import { parseRolloutInputs } from '../../rollout/inputs.js'
import { installedLayout, type Layout } from '../../release/layout.js'
import { applyFiles, managedFiles } from '../../rollout/render.js'
import { EXIT, type Guard } from '../exit.js'
import type { Output } from '../output.js'

export interface RenderArgs {
  /** A JSON file (/dev/stdin: a secret need not touch the disk). */
  readonly vars: string
  readonly root: string
  /** Default: the layout this efs-home runs from. */
  readonly layout: Layout | undefined
  readonly check: boolean
  readonly diff: boolean
  /** Exit 2 when something changed (as puppet does), for cfengine's classes. */
  readonly detailedExitcodes: boolean
}

/** How a failure ends: nothing is written, and with --detailed-exitcodes the status is puppet's 4. */
export const renderGuard = (args: Pick<RenderArgs, 'detailedExitcodes'>): Guard => ({
  after: () => '; nothing was written',
  failed: args.detailedExitcodes ? EXIT.detailedFailed : EXIT.failed,
})

export async function renderCommand(args: RenderArgs, out: Output): Promise<number> {
  const inputs = parseRolloutInputs(readFileSync(args.vars, 'utf8'))
  const { changed, diff } = applyFiles(args.root, managedFiles(inputs, args.layout ?? installedLayout()), { check: args.check })
  if (args.diff) for (const line of diff) out.out(line)
  out.out(JSON.stringify({ changed }))
  // Puppet's convention, which cfengine's classes read: 2 for "changed".
  return args.detailedExitcodes && changed.length > 0 ? 2 : EXIT.ok
}
