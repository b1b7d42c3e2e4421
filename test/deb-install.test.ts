// The Debian package with the real dpkg, on this machine's own Debian 12
// seen through an overlay (nothing here changes): it installs with the
// machine's Node.js hidden, its commands run on the runtime it bundles,
// an upgrade keeps a locally edited config, remove keeps the config, purge
// takes it and efs-home's state away. The machine below already runs
// efs-home (the package installed and configured, its cache full, its units
// enabled), as an administrator's would: the test starts clean all the same,
// and that machine's files are unchanged afterwards.

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { basename, join } from 'node:path'
import { buildPackage, inOverlayRoot } from './fixtures/deb.js'
import { kernelLacks } from './fixtures/kernel.js'
import { scratchDir } from './fixtures/scratch.js'
import { agentPort } from './fixtures/ports.js'
import { startSlapd } from './fixtures/slapd.js'

const missing = kernelLacks('mountns', 'overlay')
if (missing !== undefined) t.plan(0, missing)
else {
  t.test('install without a system Node.js, upgrade keeping a local edit, remove, purge', async (t) => {
    const deb = await buildPackage(t)
    // The next version: the same package under a higher version number, repacked with dpkg-deb.
    const dir = scratchDir(t, 'next')
    execFileSync('dpkg-deb', ['-R', deb, join(dir, 'next')])
    execFileSync('sed', ['-i', 's/^Version: .*/Version: 99.0.0/', join(dir, 'next', 'DEBIAN', 'control')])
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '-b', join(dir, 'next'), join(dir, 'next.deb')], { stdio: 'ignore' })
    const slapd = await startSlapd(t, [{ uid: 'alice', home: '/import/kamen/2/alice' }])
    const port = agentPort()
    const users = Object.fromEntries(Array.from({ length: 54 }, (_, i) => [`u${i}`, { location: `/import/kamen/2/u${i}`, at: 1 }]))
    const host = [
      `cp ${deb} $R/tmp/`,
      `inroot dpkg -i /tmp/${basename(deb)} >/dev/null`,
      "printf '[ldap]\\nuri = ldap://ldap.site.example\\nbase = dc=site\\n# the site\\n' > $R/etc/efs-home/efs-home.conf",
      'mkdir -p $R/var/cache/efs-home $R/var/lib/efs-home $R/etc/systemd/system/multi-user.target.wants',
      `echo '${JSON.stringify({ version: 1, users })}' > $R/var/cache/efs-home/homes.json`,
      'echo \'{"fs-0123abcd": 250}\' > $R/var/lib/efs-home/proxy-ports.json',
      'ln -s /lib/systemd/system/efs-home-agent.service $R/etc/systemd/system/multi-user.target.wants/',
      'echo "/home program:/usr/sbin/efs-home-map" > $R/etc/auto.master.d/home.autofs',
      'sum() { (cd $H && sha256sum etc/efs-home/efs-home.conf var/cache/efs-home/homes.json var/lib/efs-home/proxy-ports.json etc/auto.master.d/home.autofs | sha256sum); }',
      'before=$(sum)',
    ].join('\n')
    // A PID namespace of its own: the agent a lookup starts there ends with it.
    const r = await inOverlayRoot(
      [
        `cp ${deb} ${join(dir, 'next.deb')} $R/tmp/`,
        'rm -f $R/usr/bin/node $R/bin/node $R/usr/local/bin/node',
        'echo "system node: $(inroot sh -c "command -v node || echo none")"',
        `inroot dpkg -i /tmp/${basename(deb)} >/dev/null`,
        'echo "installed: $(inroot dpkg -s efs-home | sed -n "s/^Version: //p") $(inroot dpkg -s efs-home | sed -n "s/^Status: .* //p")"',
        'inroot efs-home config check',
        'echo "help: $(inroot efs-home --help | head -1)"',
        'echo "map-gen: $(inroot efs-map-gen --help | head -1)"',
        'inroot efs-home-map alice 2>&1 && echo "map exit 0" || echo "map exit $?"',
        'echo "runtime: $(inroot /usr/lib/efs-home/node/bin/node -p process.version)"',
        'inroot efs-home doctor --json > $R/tmp/doctor.json || true',
        "inroot /usr/lib/efs-home/node/bin/node -e \"const c = require('/tmp/doctor.json'); console.log('doctor: ' + c.length + ' checks, config ' + c.find((x) => x.check === 'config')?.ok)\"",
        'echo "man: $(inroot man -w efs-home.conf)"',
        'echo "units: $(ls $R/lib/systemd/system | grep efs-home | tr "\\n" " ")"',
        'echo "unit: $(grep ^ExecStart= $R/lib/systemd/system/efs-home-agent.service)"',
        'echo "enabled: $(ls $R/etc/systemd/system/multi-user.target.wants 2>/dev/null | grep -c efs-home || true)"',
        'echo "master map: $(ls $R/etc/auto.master.d 2>/dev/null | grep -c efs-home || true)"',
        // The lookup path on the bundled runtime, against a real directory: the Node map, the agent it starts, the thin map through it.
        `printf '[ldap]\\nuri = ${slapd.url}\\nbase = ou=People,dc=example,dc=edu\\n[home]\\nagent_port = ${port}\\n' > $R/etc/efs-home/efs-home.conf`,
        'echo "node map: $(inroot efs-home-map alice 2>&1)"',
        'for i in $(seq 100); do inroot efs-home agent status >/dev/null 2>&1 && break; sleep 0.1; done',
        'echo "thin map: $(inroot efs-home-map alice 2>&1)"',
        "echo \"agent: $(inroot efs-home agent status --json | inroot /usr/lib/efs-home/node/bin/node -e \"const s = JSON.parse(require('fs').readFileSync(0)); console.log(s.answeredThin + ' for the thin map, on ' + require('fs').readlinkSync('/proc/' + s.pid + '/exe'))\")\"",
        'inroot efs-map-gen --from-ldap --source /dev/null --output /tmp/auto.static > /dev/null',
        'echo "map-gen: $(grep -c kamen $R/tmp/auto.static)"',
        // Run from the package, the rollout's renderer writes for the package by default.
        `echo '{"settings": {"ldap": {"uri": "ldap://ldap.example.edu", "base": "dc=example,dc=edu"}}}' > $R/tmp/inputs.json`,
        'inroot efs-home rollout render --vars /tmp/inputs.json --root /tmp/tree > /dev/null',
        'echo "render: $(grep -o "program:[^ ]*" $R/tmp/tree/etc/auto.master.d/home.autofs), units $(ls $R/tmp/tree/etc/systemd/system | grep -c "^efs-home-" || true)"',
        'echo "# this site" >> $R/etc/efs-home/efs-home.conf',
        'inroot dpkg -i /tmp/next.deb >/dev/null',
        'echo "upgraded: $(inroot dpkg -s efs-home | sed -n "s/^Version: //p"), kept: $(tail -1 $R/etc/efs-home/efs-home.conf)"',
        'mkdir -p $R/var/lib/efs-home $R/var/cache/efs-home && touch $R/var/lib/efs-home/proxy-ports.json $R/var/cache/efs-home/homes.json',
        'inroot dpkg -r efs-home >/dev/null',
        'echo "removed: code $(test -e $R/usr/lib/efs-home && echo stays || echo gone), config $(test -e $R/etc/efs-home/efs-home.conf && echo stays || echo gone)"',
        'inroot dpkg -P efs-home >/dev/null',
        'echo "purged: config $(test -e $R/etc/efs-home && echo stays || echo gone), state $(test -e $R/var/lib/efs-home && echo stays || echo gone), cache $(test -e $R/var/cache/efs-home && echo stays || echo gone)"',
        'echo "the machine below: $([ "$(sum)" = "$before" ] && echo unchanged || echo changed), efs-home $(chroot $H dpkg-query -s efs-home | sed -n "s/^Status: .* //p")"',
      ].join('\n'),
      { pid: true, host },
    )
    t.equal(r.code, 0, r.stderr)
    const said = r.stdout
    t.match(said, /^system node: none$/m, "the machine's Node.js is hidden")
    t.match(said, /^installed: \d+\.\d+\.\d+ installed$/m)
    t.match(said, /^\/etc\/efs-home\/efs-home\.conf: ok/m, 'the default config passes config check')
    t.match(said, /^help: efs-home <command> \[options\]$/m)
    t.match(said, /^map-gen: efs-map-gen \[options\]$/m)
    t.match(said, /^efs-home-map: no LDAP server answered .*\nmap exit 1$/m, 'the program map runs (and says why it has no entry)')
    t.match(said, /^runtime: v24\.\d+\.\d+$/m, 'the bundled runtime')
    t.match(said, /^doctor: \d+ checks, config true$/m, 'doctor runs')
    t.match(said, /^man: \/usr\/share\/man\/man5\/efs-home\.conf\.5\.gz$/m)
    t.match(said, /^units: efs-home-agent\.service efs-home-firewall\.service efs-home-proxy@\.service $/m)
    t.match(
      said,
      /^unit: ExecStart=\/usr\/lib\/efs-home\/node\/bin\/node --max-semi-space-size=1 --optimize-for-size \/usr\/lib\/efs-home\/dist\/src\/bin\/efs-home\.js agent run --resident$/m,
    )
    t.match(said, /^enabled: 0$/m, 'nothing enabled before the site configures it')
    t.match(said, /^master map: 0$/m, 'autofs left alone')
    t.match(
      said,
      /^node map: -fstype=nfs,vers=4,nosuid,nodev kamen:\/export\/kamen\/2\/alice$/m,
      'the Node map answers on the bundled runtime',
    )
    t.match(
      said,
      /^thin map: -fstype=nfs,vers=4,nosuid,nodev kamen:\/export\/kamen\/2\/alice$/m,
      'the thin map, through the agent the first lookup started',
    )
    t.match(said, /^agent: 1 for the thin map, on \/usr\/lib\/efs-home\/node\/bin\/node$/m, 'the agent runs on the bundled runtime')
    t.match(said, /^map-gen: 1$/m, 'efs-map-gen enumerates LDAP on it')
    t.match(said, /^render: program:\/usr\/sbin\/efs-home-map, units 0$/m, "rollout render: the package's layout by default")
    t.match(said, /^upgraded: 99\.0\.0, kept: # this site$/m, 'the local edit survives the upgrade')
    t.match(said, /^removed: code gone, config stays$/m)
    t.match(said, /^purged: config gone, state gone, cache gone$/m)
    t.match(said, /^the machine below: unchanged, efs-home installed$/m, 'the machine where efs-home ran keeps its files and package')
  })
}
