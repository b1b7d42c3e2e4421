// efs-home-map KEY: the autofs program map for /home. automount runs it for
// every lookup and waits for it however long it takes, so it loads only
// what a lookup needs and always finishes within [home] deadline.
//
// Contract: one map entry on stdout and exit 0; or nothing on stdout, one
// line on stderr (automount logs it) and exit 1.

import { loadConfig } from '../config/load.js'
import { oneLine } from '../errors.js'
import { lookupHome } from '../lookup/lookup.js'
import { type Output, stdOutput } from './output.js'

export async function main(argv: readonly string[], io: Output = stdOutput): Promise<number> {
  // No options at all: whatever automount passes is a key, and a key such as
  // `--help` must never make us print something automount would mount.
  if (argv.length !== 1 || argv[0] === undefined) {
    io.err('usage: efs-home-map KEY (the autofs program map for /home; see efs-home lookup for a readable trace)')
    return 2
  }
  try {
    const result = await lookupHome(loadConfig(), argv[0])
    io.out(result.text)
    return 0
  } catch (err) {
    io.err(`efs-home-map: ${oneLine(err)}`)
    return 1
  }
}
