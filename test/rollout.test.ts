// The ansible role and the cfengine policy, applied for real into directory
// trees: the files and modes they manage, idempotence, check mode, the same
// bytes from both, the bind password kept out of every log, and the units
// they install verified by systemd-analyze.

import t from 'tap'
import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join, relative } from 'node:path'
import { runCommand } from './fixtures/processes.js'
import { EFS_HOME_BIN, MAP_GEN_BIN, ROOT } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'
import { ansibleStats, ansibleVars, ROLLOUT_INPUTS, SECRET } from './fixtures/rollout.js'

const inputs = ROLLOUT_INPUTS

const work = scratchDir(t, 'rollout')
execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, stdio: 'ignore' })
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
const release = join(work, `efs-home-${version}.tgz`)

function ansible(root: string, extra: string[] = [], vars = inputs) {
  const varsFile = join(work, `ansible-vars-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(
    varsFile,
    JSON.stringify({
      efs_home_root: root,
      efs_home_release: release,
      efs_home_version: version,
      ...ansibleVars(vars),
    }),
    { mode: 0o600 },
  )
  return runCommand(
    'ansible-playbook',
    ['-i', 'localhost,', '-c', 'local', join(ROOT, 'ansible/site.yml'), '-e', `@${varsFile}`, ...extra],
    {
      PATH: process.env.PATH,
      HOME: work,
      // ansible-core's own callback: the `json` one comes from a collection .ci/setup does not install.
      ANSIBLE_STDOUT_CALLBACK: 'default',
      ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp'),
      ANSIBLE_NOCOLOR: '1',
    },
  )
}

// cf-agent with a private work directory: its own keys and bin links, nothing of the host's.
const cfWork = join(work, 'cfengine')
mkdirSync(join(cfWork, 'bin'), { recursive: true })
for (const tool of ['cf-promises', 'cf-agent', 'cf-key'])
  symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(cfWork, 'bin', tool))
const cfEnv = { PATH: process.env.PATH, CFENGINE_TEST_OVERRIDE_WORKDIR: cfWork }
execFileSync('cf-key', [], { env: cfEnv, stdio: 'ignore' })

function cfengine(root: string, inputsFile: string) {
  const policy = join(work, `run-${Math.random().toString(36).slice(2)}.cf`)
  writeFileSync(
    policy,
    `body common control\n{\n  bundlesequence => { "main" };\n  inputs => { "${ROOT}cfengine/efs_home.cf" };\n}\n` +
      `bundle agent main\n{\n  methods:\n    "efs_home" usebundle => efs_home("${root}", "${release}", "${version}", "${inputsFile}");\n}\n`,
  )
  return { policy, run: (tool: string, args: string[]) => runCommand(tool, [...args, '-f', policy], cfEnv) }
}

/** Every file and link a rollout manages under `root`: path -> content (root prefix removed), mode or link target. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      const rel = relative(root, path)
      if (rel.startsWith(`opt/efs-home-${version}/`)) continue // the unpacked release itself
      const st = lstatSync(path)
      if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(path)}`
      else if (st.isDirectory()) walk(path)
      else out[rel] = `${(st.mode & 0o777).toString(8)} ${readFileSync(path, 'utf8').split(root).join('')}`
    }
  }
  walk(root)
  return out
}

const ansibleRoot = join(work, 'ansible-root')
const cfRoot = join(work, 'cfengine-root')

t.test('ansible: applies into a tree, then changes nothing', async (t) => {
  mkdirSync(ansibleRoot)
  const first = await ansible(ansibleRoot)
  t.equal(first.code, 0, first.stderr)
  t.match(ansibleStats(first.stdout), { failures: 0 })
  t.ok(ansibleStats(first.stdout).changed > 0)
  const files = tree(ansibleRoot)
  t.match(files['etc/efs-home/efs-home.conf'], /^644 .*\[ldap\]\nuri = ldaps:\/\/ldap1\.example\.edu ldaps:\/\/ldap2\.example\.edu\n/s)
  t.match(files['etc/efs-home/efs-home.conf'], /bind_password_file = \/etc\/efs-home\/ldap-bind\.secret\n/)
  t.equal(files['etc/efs-home/ldap-bind.secret'], `600 ${SECRET}\n`, 'the secret, mode 0600')
  t.match(files['etc/auto_static.cfg'], /^644 .*\nkamen\.cse\.example\.edu\/1\nnw-syd-efs1\/1\nkamen\/2\n$/s)
  t.match(files['etc/auto.static'], /^644 .*\/import\/nw-syd-efs1\/1 +-fstype=nfs4,[^ ]+ 10\.0\.16\.5:\/1\n/s, 'the static map regenerated')
  t.match(
    files['etc/efs-home/firewall/efs-home.rules.v4'],
    /-A EFS-HOME -p tcp -m tcp --dport 2049 -m owner[\s\S]*-A EFS-HOME -d 10\.0\.16\.5\/32 -p tcp -m tcp --dport 111/,
    'the firewall rules rendered',
  )
  t.equal(files['etc/efs-home/efs-ca.pem']?.split('BEGIN CERTIFICATE').length, 5, 'the EFS trust anchor: four Amazon root CAs')
  for (const unit of ['autofs.service.d/efs-home.conf', 'efs-home-firewall.service', 'efs-home-proxy@.service', 'efs-home-agent.service'])
    t.ok(files[`etc/systemd/system/${unit}`], unit)
  t.match(
    files['etc/udev/rules.d/99-zz-efs-home-readahead.rules'],
    /^644 [\s\S]*\nSUBSYSTEM=="bdi", ACTION=="add", PROGRAM="\/usr\/local\/bin\/efs-home readahead %k", ATTR\{read_ahead_kb\}="%c"\n$/,
    'the read-ahead udev rule',
  )
  t.match(
    files['etc/efs-home/efs-home.conf'],
    /\n\[tree "\/srv\/www"\]\nsub_path = public_html\n\n\[tree "\/web"\]\nattribute = webDirectory\noptions = ro\ntimeout = 60\n$/,
  )
  t.match(
    files['etc/auto.master.d/efs-home-web.autofs'],
    /^644 [\s\S]*\n\/web program:\/usr\/local\/sbin\/efs-home-map --timeout=60\n$/,
    'the /web master map entry',
  )
  t.match(
    files['etc/auto.master.d/efs-home-srv-www.autofs'],
    /\n\/srv\/www program:\/usr\/local\/sbin\/efs-home-map --timeout=300\n$/,
    'and /srv/www',
  )
  t.equal(files['opt/efs-home'], `-> efs-home-${version}`)
  t.equal(files['usr/local/sbin/efs-home-map'], '-> /opt/efs-home/maps/efs-home-map', 'the thin map')
  t.equal(files['usr/local/sbin/efs-map-gen'], '-> /opt/efs-home/dist/src/bin/efs-map-gen.js')
  t.equal(files['usr/local/bin/efs-home'], '-> /opt/efs-home/dist/src/bin/efs-home.js')
  t.notMatch(first.stdout + first.stderr, SECRET, 'the secret is never logged')

  const second = await ansible(ansibleRoot)
  t.match(ansibleStats(second.stdout), { changed: 0, failures: 0 }, 'a second run changes nothing')
})

t.test('ansible --check --diff: shows the change and makes none', async (t) => {
  const before = tree(ansibleRoot)
  const changed = {
    ...inputs,
    servers: { ...inputs.servers, 'nw-syd-efs1': { ...inputs.servers['nw-syd-efs1'], mount_target_ip: '10.0.16.6' } },
  }
  const r = await ansible(ansibleRoot, ['--check', '--diff'], changed)
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /-mount_target_ip = 10\.0\.16\.5/)
  t.match(r.stdout, /\+mount_target_ip = 10\.0\.16\.6/)
  t.same(tree(ansibleRoot), before, 'nothing changed')
  t.notMatch(r.stdout + r.stderr, SECRET)
})

t.test('cfengine: validates, applies into a tree, then repairs nothing', async (t) => {
  mkdirSync(cfRoot)
  const inputsFile = join(work, 'inputs.json')
  writeFileSync(inputsFile, JSON.stringify(inputs), { mode: 0o600 })
  const cf = cfengine(cfRoot, inputsFile)
  const promises = await cf.run('cf-promises', [])
  t.equal(promises.code, 0, promises.stderr)
  t.notMatch(promises.stdout + promises.stderr, /error:/)
  const first = await cf.run('cf-agent', ['-K', '-I'])
  t.equal(first.code, 0)
  t.notMatch(first.stdout + first.stderr, /error:/, first.stdout + first.stderr)
  t.match(first.stdout, /returned code '2' defined as promise repaired/)
  t.notMatch(first.stdout + first.stderr, SECRET, 'the secret is never logged')
  const second = await cf.run('cf-agent', ['-K', '-I'])
  t.notMatch(
    second.stdout + second.stderr,
    /error:|repaired|Linked files|Created|Executing '[^']*(efs-map-gen|tar )/,
    'a second run repairs nothing',
  )
})

t.test('ansible and cfengine write the same bytes', async (t) => {
  t.same(tree(cfRoot), tree(ansibleRoot))
})

t.test('systemd-analyze verify: every unit and drop-in the rollout installs', async (t) => {
  const units = scratchDir(t, 'units')
  const rewrite = (text: string) =>
    text.split('/usr/local/bin/efs-home').join(EFS_HOME_BIN).split('/usr/local/sbin/efs-map-gen').join(MAP_GEN_BIN)
  for (const unit of ['efs-home-firewall.service', 'efs-home-proxy@.service', 'efs-home-agent.service']) {
    writeFileSync(join(units, unit), rewrite(readFileSync(join(ansibleRoot, 'etc/systemd/system', unit), 'utf8')))
  }
  copyFileSync(join(units, 'efs-home-proxy@.service'), join(units, 'efs-home-proxy@fs-0123abcd.service'))
  const autofs = ['/lib/systemd/system/autofs.service', '/usr/lib/systemd/system/autofs.service'].find((f) => existsSync(f))
  t.ok(autofs, 'the autofs unit is installed')
  writeFileSync(join(units, 'autofs.service'), readFileSync(autofs!, 'utf8'))
  mkdirSync(join(units, 'autofs.service.d'))
  writeFileSync(
    join(units, 'autofs.service.d', 'efs-home.conf'),
    rewrite(readFileSync(join(ansibleRoot, 'etc/systemd/system/autofs.service.d/efs-home.conf'), 'utf8')),
  )
  for (const unit of ['efs-home-firewall.service', 'efs-home-proxy@fs-0123abcd.service', 'efs-home-agent.service', 'autofs.service']) {
    const r = await runCommand('systemd-analyze', ['verify', join(units, unit)], { PATH: process.env.PATH })
    t.equal(r.code, 0, `${unit}: ${r.stderr}`)
  }
})

t.test('ansible-lint passes the role', async (t) => {
  const lint = await runCommand(
    'ansible-lint',
    ['--offline', 'site.yml', 'roles/efs_home'],
    { PATH: process.env.PATH, HOME: work },
    join(ROOT, 'ansible'),
  )
  t.equal(lint.code, 0, lint.stdout + lint.stderr)
})
