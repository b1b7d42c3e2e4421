// The shell program map a site would write instead of ours
// (shared/reference/autofs_home.sh): the baseline of every comparison.

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../fixtures/run.js'

export function referenceScript(): string {
  for (const candidate of [join(ROOT, '../shared/reference/autofs_home.sh'), join(ROOT, 'shared/reference/autofs_home.sh')]) {
    if (existsSync(candidate)) return candidate
  }
  throw new Error('shared/reference/autofs_home.sh not found beside the repository')
}
