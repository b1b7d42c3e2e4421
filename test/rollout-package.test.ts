// The rollouts on a Debian host, for real: the ansible role and the cfengine
// policy each run as root on this machine's own Debian 12 seen through an
// overlay (in network and PID namespaces of their own: the firewall they
// load is the namespace's, and no systemd runs there, as when an image is
// built in a chroot). They install the Debian package with apt and the
// standard library's apt_get package module, write the same bytes, move a
// host off a tarball installation, upgrade keeping the rendered config, and
// a second run changes nothing.

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join, relative } from 'node:path'
import { buildPackage, inOverlayRoot } from './fixtures/deb.js'
import { kernelLacks } from './fixtures/kernel.js'
import { ansibleStats, ansibleVars, ROLLOUT_INPUTS, SECRET } from './fixtures/rollout.js'
import { ROOT } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'

/** The files both rollouts write on a package host, as copied out of the overlay. */
const MANAGED = [
  'etc/efs-home',
  'etc/auto_static.cfg',
  'etc/auto.static',
  'etc/auto.master.d/home.autofs',
  'etc/auto.master.d/static.autofs',
  'etc/auto.master.d/efs-home-web.autofs',
  'etc/auto.master.d/efs-home-srv-www.autofs',
  'etc/systemd/system/autofs.service.d/efs-home.conf',
]

/** Shell lines that copy the managed files out of the overlay into `out`. */
const copyOut = (out: string) => [
  `mkdir -p ${out}`,
  ...MANAGED.map((f) => `mkdir -p ${join(out, f, '..')} && cp -a $R/${f} ${join(out, f, '..')}/`),
]

/**
 * Every file under `dir`: path -> mode and content. Not dpkg's copy of a
 * conffile it did not install over a local one (the host that had the
 * tarball's config has one).
 */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name)
      if (e.isDirectory()) walk(path)
      else if (!e.name.endsWith('.dpkg-dist'))
        out[relative(dir, path)] = execFileSync('stat', ['-c', '%a', path], { encoding: 'utf8' }).trim() + readFileSync(path, 'utf8')
    }
  }
  walk(dir)
  return out
}

const missing = kernelLacks('mountns', 'overlay', 'netns')
if (missing !== undefined) t.plan(0, missing)
else {
  const work = scratchDir(t, 'rollout-package')
  const deb = await buildPackage(t)
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
  // The next version: the same package under a higher version number.
  execFileSync('dpkg-deb', ['-R', deb, join(work, 'next')])
  execFileSync('sed', ['-i', 's/^Version: .*/Version: 99.0.0/', join(work, 'next', 'DEBIAN', 'control')])
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '-b', join(work, 'next'), join(work, 'next.deb')], { stdio: 'ignore' })
  execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, stdio: 'ignore' })
  const tarball = `efs-home-${version}.tgz`

  t.test('ansible: from a tarball installation to the package, then nothing, then an upgrade', async (t) => {
    const vars = (name: string, extra: Record<string, unknown>) => {
      writeFileSync(join(work, name), JSON.stringify({ ...ansibleVars(ROLLOUT_INPUTS), ...extra }), { mode: 0o600 })
      return `/tmp/${name}`
    }
    const tarballVars = vars('tarball.json', {
      efs_home_install: 'tarball',
      efs_home_version: version,
      efs_home_release: `/tmp/${tarball}`,
    })
    // On a Debian host the package is the default.
    const packageVars = vars('package.json', { efs_home_version: version, efs_home_package: `/tmp/${basename(deb)}` })
    const upgradeVars = vars('upgrade.json', { efs_home_version: '99.0.0', efs_home_package: '/tmp/next.deb' })
    const out = join(work, 'ansible')
    const play = (vars: string, log: string) =>
      `inroot env ANSIBLE_NOCOLOR=1 ANSIBLE_STDOUT_CALLBACK=default ansible-playbook -i localhost, -c local /tmp/ansible/site.yml -e @${vars} > ${join(work, log)} 2>&1 || echo "${log}: ansible failed"`
    const r = await inOverlayRoot(
      [
        `cp ${deb} ${join(work, 'next.deb')} ${join(work, tarball)} ${join(work, '*.json')} $R/tmp/`,
        `cp -r ${join(ROOT, 'ansible')} $R/tmp/ansible`,
        play(tarballVars, 'tarball.log'),
        'echo "tarball: map $(readlink $R/usr/local/sbin/efs-home-map), units $(ls $R/etc/systemd/system | grep -c "^efs-home-")"',
        play(packageVars, 'package.log'),
        `echo "package: $(inroot dpkg-query -W -f '\${Version} \${Status}' efs-home)"`,
        'echo "links left: $(ls $R/usr/local/sbin $R/usr/local/bin | grep -c efs || true)"',
        'echo "units in /etc: $(ls $R/etc/systemd/system | grep -c "^efs-home-" || true)"',
        'echo "agent enabled: $(readlink $R/etc/systemd/system/multi-user.target.wants/efs-home-agent.service)"',
        'echo "efs-home: $(inroot sh -c "command -v efs-home")"',
        'inroot efs-home config check',
        'echo "firewall: $(inroot iptables -S EFS-HOME | grep -c -- "--dport 2049")"',
        play(packageVars, 'again.log'),
        play(upgradeVars, 'upgrade.log'),
        `echo "upgraded: $(inroot dpkg-query -W -f '\${Version}' efs-home), config $(grep -c "^bind_dn = cn=automount" $R/etc/efs-home/efs-home.conf)"`,
        ...copyOut(out),
      ].join('\n'),
      { pid: true, net: true },
    )
    t.equal(r.code, 0, r.stderr)
    const said = r.stdout
    t.notMatch(said, /ansible failed/, said)
    const log = (name: string) => readFileSync(join(work, name), 'utf8')
    t.match(said, /^tarball: map \/opt\/efs-home\/maps\/efs-home-map, units 3$/m, 'first, the tarball way')
    t.match(ansibleStats(log('package.log')), { failures: 0 })
    t.match(said, new RegExp(`^package: ${version.replace(/\./g, '\\.')} install ok installed$`, 'm'), 'the package, installed with apt')
    t.match(said, /^links left: 0$/m, "the tarball's /usr/local links are gone")
    t.match(said, /^units in \/etc: 0$/m, "its units in /etc are gone: the package's own run")
    t.match(said, /^agent enabled: \/lib\/systemd\/system\/efs-home-agent\.service$/m, "the package's agent unit, enabled")
    t.match(said, /^efs-home: \/usr\/sbin\/efs-home$/m)
    t.match(said, /^\/etc\/efs-home\/efs-home\.conf: ok/m, 'the rendered config passes config check')
    t.match(said, /^firewall: [1-9]\d*$/m, "the firewall rules loaded, in the test's namespace")
    t.match(ansibleStats(log('again.log')), { changed: 0, failures: 0 }, 'a second run changes nothing')
    t.match(said, /^upgraded: 99\.0\.0, config 1$/m, 'an upgrade keeps the rendered config')
    t.notMatch(log('package.log') + log('upgrade.log'), SECRET, 'the secret is never logged')
    const managed = files(out)
    t.match(managed['etc/auto.master.d/home.autofs'], /^\/home program:\/usr\/sbin\/efs-home-map --timeout=300$/m)
    t.equal(managed['etc/efs-home/ldap-bind.secret'], `600${SECRET}\n`)
  })

  t.test('cfengine: the package with no Node.js on the host, then nothing; the same bytes as ansible', async (t) => {
    const cfWork = '/tmp/cfwork'
    const policy = join(work, 'site.cf')
    writeFileSync(
      policy,
      `body common control\n{\n  bundlesequence => { "main" };\n` +
        `  inputs => { "/usr/share/cfengine3/masterfiles/lib/packages.cf", "/tmp/cfengine/efs_home.cf", "/tmp/cfengine/efs_home_package.cf" };\n}\n` +
        `bundle agent main\n{\n  methods:\n    "efs_home" usebundle => efs_home_package("/tmp/${basename(deb)}", "${version}", "/tmp/inputs.json");\n}\n`,
    )
    writeFileSync(join(work, 'inputs.json'), JSON.stringify(ROLLOUT_INPUTS), { mode: 0o600 })
    const out = join(work, 'cfengine')
    const agent = (log: string) =>
      `inroot env CFENGINE_TEST_OVERRIDE_WORKDIR=${cfWork} cf-agent -K -I -f /tmp/site.cf > ${join(work, log)} 2>&1 || echo "${log}: cf-agent failed"`
    const r = await inOverlayRoot(
      [
        `cp ${deb} ${policy} ${join(work, 'inputs.json')} $R/tmp/`,
        `cp -r ${join(ROOT, 'cfengine')} $R/tmp/cfengine`,
        'rm -f $R/usr/bin/node $R/bin/node $R/usr/local/bin/node',
        // What masterfiles' update policy puts in a host's work directory: the tools and the package module.
        `mkdir -p $R${cfWork}/bin $R${cfWork}/modules/packages`,
        `for tool in cf-promises cf-agent cf-key; do ln -s "$(command -v $tool)" $R${cfWork}/bin/$tool; done`,
        `ln -s /usr/bin/python3 $R${cfWork}/bin/cfengine-selected-python`,
        `cp /usr/share/cfengine3/masterfiles/modules/packages/vendored/apt_get.mustache $R${cfWork}/modules/packages/apt_get`,
        `chmod 700 $R${cfWork}/modules/packages/apt_get`,
        `inroot env CFENGINE_TEST_OVERRIDE_WORKDIR=${cfWork} cf-key > /dev/null`,
        `inroot env CFENGINE_TEST_OVERRIDE_WORKDIR=${cfWork} cf-promises -f /tmp/site.cf > ${join(work, 'promises.log')} 2>&1 || echo "cf-promises failed"`,
        'echo "system node: $(inroot sh -c "command -v node || echo none")"',
        // What a tarball installation linked into /usr/local goes; a site's own link stays.
        'ln -s /opt/efs-home/maps/efs-home-map $R/usr/local/sbin/efs-home-map',
        'ln -s /site/own/efs-home $R/usr/local/bin/efs-home',
        agent('cf1.log'),
        'echo "links: $(ls $R/usr/local/sbin | grep -c efs-home-map || true) of the tarball, $(readlink $R/usr/local/bin/efs-home) kept"',
        `echo "package: $(inroot dpkg-query -W -f '\${Version} \${Status}' efs-home)"`,
        'echo "agent enabled: $(readlink $R/etc/systemd/system/multi-user.target.wants/efs-home-agent.service)"',
        'echo "firewall: $(inroot iptables -S EFS-HOME | grep -c -- "--dport 2049")"',
        agent('cf2.log'),
        ...copyOut(out),
      ].join('\n'),
      { pid: true, net: true },
    )
    t.equal(r.code, 0, r.stderr)
    const said = r.stdout
    const log = (name: string) => readFileSync(join(work, name), 'utf8')
    t.notMatch(said, /failed/, said)
    t.notMatch(log('promises.log'), /error:/, log('promises.log'))
    t.match(said, /^system node: none$/m, "the machine's Node.js is hidden")
    t.notMatch(log('cf1.log'), /error:/, log('cf1.log'))
    t.match(said, new RegExp(`^package: ${version.replace(/\./g, '\\.')} install ok installed$`, 'm'), 'installed by the apt_get module')
    t.match(said, /^agent enabled: \/lib\/systemd\/system\/efs-home-agent\.service$/m)
    t.match(said, /^links: 0 of the tarball, \/site\/own\/efs-home kept$/m)
    t.match(said, /^firewall: [1-9]\d*$/m)
    t.notMatch(log('cf1.log'), SECRET, 'the secret is never logged')
    t.notMatch(log('cf2.log'), /error:|repaired/, 'a second run repairs nothing')
    t.same(
      log('cf2.log')
        .split('\n')
        .filter((line) => line.includes('Executing') && !line.includes('rollout render')),
      [],
      'and runs nothing but the render',
    )
    t.same(files(out), files(join(work, 'ansible')), 'the same bytes as the ansible role')
  })
}
