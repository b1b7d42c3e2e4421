import t from 'tap'
import { checkKey } from '../src/lookup/key.js'
import { parseLocation } from '../src/location/location.js'
import { BAD_KEYS } from './fixtures/bad-input.js'

t.test('plausible user names pass', async (t) => {
  for (const key of ['alice', 'plinich99', 'z1234567', 'first.last', 'a_b-c', '_svc', '1999student', 'x'.repeat(64)])
    t.equal(checkKey(key), key)
})

t.test('everything else is refused with one line', async (t) => {
  for (const key of BAD_KEYS) {
    t.throws(() => checkKey(key), { code: 'KEY' }, JSON.stringify(key))
    try {
      checkKey(key)
    } catch (err) {
      t.notMatch((err as Error).message, /[\n\0]/, 'message is one clean line')
    }
  }
})

t.test('locations split into server, export and path', async (t) => {
  t.match(parseLocation('/import/kamen/1/plinich', '/import'), { server: 'kamen', export: '1', rest: 'plinich' })
  t.match(parseLocation('/import/nw-syd-efs1/A/u/plinich99', '/import'), { server: 'nw-syd-efs1', export: 'A', rest: 'u/plinich99' })
  t.match(parseLocation('/net/fs-0123abcd/home/bob', '/net'), { server: 'fs-0123abcd', export: 'home', rest: 'bob' })
  t.match(parseLocation('/srv/imp/kamen.cse.example.edu/2/bob', '/srv/imp'), { server: 'kamen.cse.example.edu' })
})

t.test('unsafe or malformed locations are refused', async (t) => {
  const bad: [string, RegExp][] = [
    ['/import/kamen/1/pl inich', /unsafe path component/],
    ['/import/kamen/1/a,b', /unsafe/],
    ['/import/kamen/1/a"b', /unsafe/],
    ["/import/kamen/1/a'b", /unsafe/],
    ['/import/kamen/1/a\nb', /unsafe/],
    ['/import/kamen/1/../../etc', /unsafe path component "\.\."/],
    ['/import/kamen/./alice', /unsafe/],
    ['import/kamen/1/alice', /not under \/import/],
    ['/home/kamen/1/alice', /not under \/import/],
    ['/importer/kamen/1/alice', /not under \/import/],
    ['/import/kamen/1', /expected \/import\/<server>\/<export>\/<user>/],
    ['/import/kamen//alice', /empty path component/],
    ['/import/kamen/1/alice/', /empty path component/],
    ['/import/-oloop/1/alice', /unsafe|not a host name/],
    ['/import/kamen_x/1/alice', /not a host name/],
    [`/import/kamen/1/${'a'.repeat(2000)}`, /too long/],
    ['/import/kamen/1/al:ice', /unsafe/],
  ]
  for (const [raw, why] of bad) {
    t.throws(() => parseLocation(raw, '/import'), { code: 'LOCATION', message: why }, JSON.stringify(raw))
  }
})
