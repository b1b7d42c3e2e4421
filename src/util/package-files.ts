// Files shipped beside the code (templates/, maps/), found from the running
// module whether it runs from src/ (tests) or dist/src/ (installed).

import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function packageRoot(dir: string): string {
  if (existsSync(join(dir, 'package.json'))) return dir
  const parent = dirname(dir)
  if (parent === dir) throw new Error('efs-home: cannot find the package directory (package.json)')
  return packageRoot(parent)
}

export function packageFile(...parts: string[]): string {
  return join(packageRoot(dirname(fileURLToPath(import.meta.url))), ...parts)
}
