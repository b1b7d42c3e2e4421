// efs-home readahead DEVICE: what udev writes to an NFS backing device's
// read_ahead_kb (templates/efs-home-readahead.rules), or exit 1 to leave it.

import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadConfig } from '../../config/load.js'
import { EfsHomeError } from '../../errors.js'
import { mountOfDevice, readAheadKb } from '../../mount/read-ahead.js'
import { EXIT } from '../exit.js'
import type { Output } from '../output.js'

// udev sees the backing device before the mount is in mountinfo (the kernel
// registers it while it sets the mount up): wait this long for the mount.
const MOUNT_WAIT_MS = 5000
const POLL_MS = 50

export async function readAheadCommand(device: string, out: Output): Promise<number> {
  if (!/^\d{1,10}:\d{1,10}$/.test(device))
    throw new EfsHomeError('CONFIG', `'${device}' is not a backing device (MAJOR:MINOR, as udev's %k gives it)`)
  const config = loadConfig()
  const mountinfo = process.env.EFS_HOME_MOUNTINFO ?? '/proc/self/mountinfo'
  for (let waited = 0; ; waited += POLL_MS) {
    const mounted = mountOfDevice(readFileSync(mountinfo, 'utf8'), device)
    if (mounted !== undefined) {
      const kb = readAheadKb(config, mounted)
      if (kb === undefined) return EXIT.no
      out.out(String(kb))
      return EXIT.ok
    }
    if (waited >= MOUNT_WAIT_MS) return EXIT.no
    await sleep(POLL_MS)
  }
}
