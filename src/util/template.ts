// The handlebars templates shipped with efs-home (maps, rules, units):
// compiled the one way every file an administrator reads is rendered.

import { readFileSync } from 'node:fs'
import Handlebars from 'handlebars'
import { packageFile } from './package-files.js'

/** A shipped template (path parts under the package), strict: a missing value is an error, not an empty string. */
export function shippedTemplate(...parts: string[]): Handlebars.TemplateDelegate {
  return Handlebars.compile(readFileSync(packageFile(...parts), 'utf8'), { noEscape: true, strict: true })
}
