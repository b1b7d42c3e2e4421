// efs-home doctor [USER]

import { loadConfig } from '../../config/load.js'
import { type CheckResult, runChecks } from '../../doctor/checks.js'
import { oneLine } from '../../errors.js'
import type { Output } from '../output.js'

export async function doctorCommand(user: string | undefined, source: string, json: boolean, out: Output): Promise<number> {
  let results: CheckResult[]
  try {
    results = await runChecks(loadConfig(), { ...(user === undefined ? {} : { user }), source })
  } catch (err) {
    results = [{ check: 'config', ok: false, detail: oneLine(err), fix: 'efs-home config check names the file, section and key' }]
  }
  if (json) out.out(JSON.stringify(results, null, 2))
  else
    for (const r of results)
      out.out(`${r.ok ? 'ok  ' : 'FAIL'} ${r.check}: ${r.detail}${r.fix === undefined || r.ok ? '' : ` (fix: ${r.fix})`}`)
  return results.every((r) => r.ok) ? 0 : 1
}
