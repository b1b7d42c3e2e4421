// The Debian package as lintian sees it: no error or warning beyond the
// overrides it ships (templates/lintian-overrides, explained in the README),
// the conffiles and the layout administrators expect.

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { buildPackage } from './fixtures/deb.js'
import { runCommand } from './fixtures/processes.js'
import { scratchDir } from './fixtures/scratch.js'

t.test('lintian: clean but for the explained overrides', async (t) => {
  const deb = await buildPackage(t)
  // As nobody: lintian warns against running as root, and needs nothing more than to read a copy.
  const dir = scratchDir(t, 'lintian')
  chmodSync(dir, 0o755)
  const copy = join(dir, basename(deb))
  copyFileSync(deb, copy)
  // From a directory nobody may enter: a checkout's may be private (mktemp -d).
  const r = await runCommand(
    'runuser',
    ['-u', 'nobody', '--', 'lintian', '--tag-display-limit', '0', '--fail-on', 'error,warning', copy],
    { PATH: process.env.PATH },
    dir,
  )
  t.equal(r.code, 0, `lintian passes: ${r.stderr}`)
  t.equal(r.stdout.trim(), '', `no tags: ${r.stdout}`)
  const contents = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8', maxBuffer: 64 << 20 })
  for (const path of [
    './usr/sbin/efs-home',
    './usr/sbin/efs-map-gen',
    './usr/sbin/efs-home-map -> ../lib/efs-home/maps/efs-home-map',
    './usr/lib/efs-home/node/bin/node',
    './lib/systemd/system/efs-home-agent.service',
    './usr/lib/udev/rules.d/99-zz-efs-home-readahead.rules',
    './usr/share/man/man8/efs-home-map.8.gz',
    './usr/share/man/man5/efs-home.conf.5.gz',
  ])
    t.ok(contents.includes(` ${path}\n`) || contents.includes(` ${path}`), path)
  t.match(
    execFileSync('dpkg-deb', ['-I', deb, 'conffiles'], { encoding: 'utf8' }),
    '/etc/efs-home/efs-home.conf\n/etc/efs-home/efs-ca.pem\n',
  )
  t.match(execFileSync('dpkg-deb', ['-f', deb, 'Depends'], { encoding: 'utf8' }), /autofs \(>= [\d.]+\), nfs-common .*iptables/)
})
