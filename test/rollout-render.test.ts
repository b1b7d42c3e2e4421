// efs-home rollout render on its own: bad inputs change nothing; secrets
// stay out of diffs; a second render writes nothing.

import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../src/cli/efs-home.js'
import { runMain } from './fixtures/in-process.js'
import { scratchDir } from './fixtures/scratch.js'

const good = {
  settings: { ldap: { uri: 'ldap://ldap.example.edu', base: 'dc=example,dc=edu' }, efs: { host_pattern: '^efs#1;x' } },
  servers: { 'kamen.example.edu': { type: 'nfs' } },
  exports: ['kamen.example.edu/1'],
  bind_password: 'hunter2',
}

async function render(t: Test, inputs: unknown, extra: string[] = [], root = scratchDir(t)) {
  const vars = join(scratchDir(t), 'inputs.json')
  writeFileSync(vars, typeof inputs === 'string' ? inputs : JSON.stringify(inputs))
  return { root, ...(await runMain(main, ['rollout', 'render', '--vars', vars, '--root', root, ...extra], '/nonexistent')) }
}

t.test('renders, then renders nothing; values that need it are quoted', async (t) => {
  const first = await render(t, good, ['--detailed-exitcodes'])
  t.equal(first.code, 2, 'changed')
  const conf = readFileSync(join(first.root, 'etc/efs-home/efs-home.conf'), 'utf8')
  t.match(conf, /^host_pattern = "\^efs#1;x"$/m, 'a value with ; or # is quoted')
  t.equal(statSync(join(first.root, 'etc/efs-home/ldap-bind.secret')).mode & 0o777, 0o600)
  const again = await render(t, good, ['--detailed-exitcodes', '--diff'], first.root)
  t.match(again, { code: 0, out: '{"changed":[]}' })
  const changed = await render(t, { ...good, bind_password: 'hunter3' }, ['--diff', '--check'], first.root)
  t.match(changed.out, /\/etc\/efs-home\/ldap-bind\.secret: \(secret, not shown\) would be written/)
  t.notMatch(changed.out, /hunter/)
  t.equal(readFileSync(join(first.root, 'etc/efs-home/ldap-bind.secret'), 'utf8'), 'hunter2\n', '--check wrote nothing')
})

t.test('bad inputs: one line, nothing written', async (t) => {
  const cases: [unknown, RegExp][] = [
    ['{"settings": ', /not valid JSON/],
    [{ ...good, colour: 'red' }, /unknown key 'colour'/],
    [
      { ...good, settings: { ...good.settings, ldap: { ...good.settings.ldap, timeout: 'soon' } } },
      /\[ldap\] timeout: 'soon' is not a positive duration/,
    ],
    [{ ...good, settings: { ...good.settings, mystery: { a: 'b' } } }, /unknown section \[mystery\]/],
    [{ ...good, settings: { ...good.settings, ldap: { ...good.settings.ldap, base: 'a\nb' } } }, /settings\.ldap\.base must be one line/],
    [{ ...good, exports: ['kamen.example.edu'] }, /'kamen\.example\.edu' is not <server>\/<export>/],
    [{ ...good, servers: { 'bad name': { type: 'nfs' } } }, /server name: 'bad name' is not a host name/],
    [{ ...good, settings: { ...good.settings, ldap: { ...good.settings.ldap, bind_password_file: '/x' } } }, /not both/],
  ]
  for (const [inputs, why] of cases) {
    const r = await render(t, inputs)
    t.equal(r.code, 2, String(why))
    t.match(r.err, why)
    t.match(r.err, /; nothing was written$/)
    t.notOk(existsSync(join(r.root, 'etc')), 'nothing written')
  }
  // --detailed-exitcodes answers like puppet, which cfengine's classes read: 4 for a failure.
  const detailed = await render(t, '{"settings": ', ['--detailed-exitcodes'])
  t.equal(detailed.code, 4)
  t.match(detailed.err, /^efs-home: rollout render: .*not valid JSON.*; nothing was written$/)
})

t.test(
  "--layout package: the package paths; its own units, rule and CA file are left to it, and a tarball rollout's are removed",
  async (t) => {
    const withTree = { ...good, trees: { '/web': { attribute: 'webDirectory' } } }
    const tarball = await render(t, withTree, ['--layout', 'tarball'])
    t.equal(tarball.code, 0, tarball.err)
    const root = tarball.root
    const unitDir = join(root, 'etc/systemd/system')
    t.ok(existsSync(join(unitDir, 'efs-home-agent.service')), 'beside a tarball: the units')
    // A unit the site wrote itself under one of the names is the site's.
    writeFileSync(join(unitDir, 'efs-home-firewall.service'), '[Service]\nExecStart=/site/own-firewall\n')
    // What `systemctl enable` made: a link to the unit that goes would dangle; a link to the site's unit stays.
    mkdirSync(join(unitDir, 'multi-user.target.wants'))
    symlinkSync('/etc/systemd/system/efs-home-agent.service', join(unitDir, 'multi-user.target.wants/efs-home-agent.service'))
    symlinkSync('/etc/systemd/system/efs-home-firewall.service', join(unitDir, 'multi-user.target.wants/efs-home-firewall.service'))
    const r = await render(t, withTree, ['--layout', 'package', '--diff', '--detailed-exitcodes'], root)
    t.equal(r.code, 2, r.err)
    t.match(r.out, /^\/etc\/systemd\/system\/efs-home-agent\.service: removed \(the Debian package provides its own\)$/m)
    t.notOk(existsSync(join(unitDir, 'efs-home-agent.service')), "the tarball rollout's agent unit is gone")
    t.notOk(existsSync(join(unitDir, 'efs-home-proxy@.service')))
    t.same(readdirSync(join(unitDir, 'multi-user.target.wants')), ['efs-home-firewall.service'], 'and the link that enabled it')
    t.notOk(existsSync(join(root, 'etc/udev/rules.d/99-zz-efs-home-readahead.rules')), 'and its udev rule')
    t.equal(
      readFileSync(join(unitDir, 'efs-home-firewall.service'), 'utf8'),
      '[Service]\nExecStart=/site/own-firewall\n',
      "the site's own file stays",
    )
    t.ok(existsSync(join(root, 'etc/efs-home/efs-ca.pem')), 'the CA file stays (the package owns it as a conffile)')
    t.match(readFileSync(join(root, 'etc/auto.master.d/home.autofs'), 'utf8'), /^\/home program:\/usr\/sbin\/efs-home-map --timeout=300$/m)
    t.match(
      readFileSync(join(root, 'etc/auto.master.d/efs-home-web.autofs'), 'utf8'),
      /^\/web program:\/usr\/sbin\/efs-home-map --timeout=300$/m,
    )
    const dropIn = readFileSync(join(unitDir, 'autofs.service.d/efs-home.conf'), 'utf8')
    t.match(dropIn, /^ExecStartPre=-\/usr\/sbin\/efs-home firewall apply$/m)
    t.match(dropIn, /^ExecStartPre=-\/usr\/sbin\/efs-map-gen --source/m)
    t.notMatch(dropIn, /\/usr\/local/)
    const again = await render(t, withTree, ['--layout', 'package', '--detailed-exitcodes'], root)
    t.match(again, { code: 0, out: '{"changed":[]}' }, 'then nothing')
    const fresh = await render(t, withTree, ['--layout', 'package'])
    t.notOk(existsSync(join(fresh.root, 'etc/efs-home/efs-ca.pem')), 'a fresh package host: no CA file written over the conffile')
    t.notOk(existsSync(join(fresh.root, 'etc/systemd/system/efs-home-agent.service')))
    // A usage error runs nothing.
    for (const [extra, why] of [
      [
        ['--layout', 'rpm'],
        /^efs-home: Invalid values:\n.*Argument: layout, Given: "rpm", Choices: "package", "tarball" \(see efs-home --help\)$/,
      ],
      [['--colour'], /^efs-home: Unknown argument: colour \(see efs-home --help\)$/],
    ] as const) {
      const refused = await render(t, good, [...extra])
      t.match(refused, { code: 2, out: '', err: why }, extra.join(' '))
      t.notOk(existsSync(join(refused.root, 'etc')), 'nothing written')
    }
  },
)
