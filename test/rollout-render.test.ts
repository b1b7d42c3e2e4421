// efs-home rollout render on its own: bad inputs change nothing; secrets
// stay out of diffs; a second render writes nothing.

import t, { type Test } from 'tap'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
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
