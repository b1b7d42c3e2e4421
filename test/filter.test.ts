import t from 'tap'
import { buildFilter } from '../src/directory/filter.js'

t.test('the key goes into the parsed filter as a value, never as filter text', async (t) => {
  const f = buildFilter('(&(objectClass=posixAccount)(uid={key}))', 'alice')
  t.equal(f.toString(), '(&(objectClass=posixAccount)(uid=alice))')
  // Even if a hostile key reached this far, it could only be a value.
  const hostile = buildFilter('(&(objectClass=posixAccount)(uid={key}))', '*)(uid=*')
  t.equal(hostile.toString(), '(&(objectClass=posixAccount)(uid=\\2a\\29\\28uid=\\2a))')
  t.equal(buildFilter('(|(uid={key})(mail={key}))', 'bob').toString(), '(|(uid=bob)(mail=bob))')
  t.equal(buildFilter('(!(uid={key}))', 'bob').toString(), '(!(uid=bob))')
})

t.test('templates that cannot hold a key safely are refused', async (t) => {
  for (const bad of [
    '(uid=alice)',
    '(uid={key}*)',
    '(uid=*{key})',
    '(cn=x{key})',
    '(&(uid={key})',
    'uid={key})',
    '(uid=efshomekeyplaceholderzq)({key})',
  ]) {
    t.throws(() => buildFilter(bad, 'alice'), { name: 'FilterTemplateError' }, bad)
  }
})
