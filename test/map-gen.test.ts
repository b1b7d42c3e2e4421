// efs-map-gen on files: golden outputs, bad sources, the drop guard, and
// that a failed or unneeded run leaves the old map exactly as it was.

import t, { type Test } from 'tap'
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../src/cli/map-gen.js'
import { runMain } from './fixtures/in-process.js'
import { ROOT } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'

const GOLDEN = join(ROOT, 'test/golden/map-gen')
const CONFIG = join(GOLDEN, 'basic/efs-home.conf')

function mapGen(args: string[], config = CONFIG) {
  return runMain(main, args, config)
}

t.test('golden maps', async (t) => {
  for (const name of readdirSync(GOLDEN)) {
    const dir = join(GOLDEN, name)
    const output = join(scratchDir(t), 'auto.static')
    const source = join(dir, 'auto_static.cfg')
    const r = await mapGen(['--source', source, '--output', output], join(dir, 'efs-home.conf'))
    t.equal(r.code, 0, `${name}: ${r.err}`)
    t.match(r.out, /: written, \d+ exports/)
    const written = readFileSync(output, 'utf8').split(output).join('OUTPUT').split(source).join('SOURCE')
    t.equal(written, readFileSync(join(dir, 'auto.static'), 'utf8'), name)
    t.equal(statSync(output).mode & 0o777, 0o644)
  }
})

/** An existing map, dated in the past, to prove a run did not touch it. */
function existingMap(t: Test): { output: string; source: string; before: string; mtime: number } {
  const dir = scratchDir(t)
  const output = join(dir, 'auto.static')
  const source = join(dir, 'auto_static.cfg')
  const before = readFileSync(join(GOLDEN, 'basic/auto.static'), 'utf8').split('OUTPUT').join(output).split('SOURCE').join(source)
  writeFileSync(output, before)
  writeFileSync(source, readFileSync(join(GOLDEN, 'basic/auto_static.cfg')))
  utimesSync(output, 1_000_000, 1_000_000)
  return { output, source, before, mtime: statSync(output).mtimeMs }
}

function untouched(t: Test, map: { output: string; before: string; mtime: number }, why: string): void {
  t.equal(readFileSync(map.output, 'utf8'), map.before, `${why}: map byte-identical`)
  t.equal(statSync(map.output).mtimeMs, map.mtime, `${why}: mtime unchanged`)
}

t.test('an up-to-date map is not rewritten', async (t) => {
  const map = existingMap(t)
  const r = await mapGen(['--source', map.source, '--output', map.output])
  t.match(r, { code: 0, out: /: unchanged, 5 exports/ })
  untouched(t, map, 'unchanged')
  t.match(await mapGen(['--source', map.source, '--output', map.output, '--check']), { code: 0, out: /up to date/ })
})

t.test('bad sources: a one-line error naming the line, and the old map kept', async (t) => {
  const cases: [string, RegExp][] = [
    ['kamen\n', /auto_static\.cfg:1: 'kamen' is not <server>\/<export>/],
    ['kamen/1\nkamen/2 vers=4 extra\n', /auto_static\.cfg:2: expected '<server>\/<export> \[options\]'/],
    ['kamen/1/2\n', /:1: 'kamen\/1\/2' is not <server>\/<export>/],
    ['bad_host/1\n', /:1: 'bad_host' is not a host name/],
    ['kamen/..\n', /:1: '\.\.' is not a plain export name/],
    ['kamen/1 vers=4,fstype=xfs\n', /:1: mount option 'fstype' is set by efs-home/],
    ['kamen/1 vers=3\n# later\nkamen/1 vers=4\n', /:3: kamen\/1 is already declared with other options at .*:1/],
  ]
  for (const [text, message] of cases) {
    const map = existingMap(t)
    writeFileSync(map.source, text)
    const r = await mapGen(['--source', map.source, '--output', map.output])
    t.equal(r.code, 2, JSON.stringify(text))
    t.match(r.err, message)
    t.notMatch(r.err, /\n/, 'one line')
    untouched(t, map, JSON.stringify(text))
  }
  const map = existingMap(t)
  const missing = await mapGen(['--source', join(map.source, 'nope'), '--output', map.output])
  t.match(missing, { code: 2, err: /cannot read .*nope/ })
  untouched(t, map, 'missing source')
})

t.test('an export that cannot get an entry fails the run', async (t) => {
  const map = existingMap(t)
  const dir = scratchDir(t)
  const tlsConfig = join(dir, 'tls.conf')
  writeFileSync(tlsConfig, readFileSync(CONFIG, 'utf8').replace('tls = false', 'tls = true'))
  const r = await mapGen(['--source', map.source, '--output', map.output], tlsConfig)
  t.match(r, { code: 2, err: /auto_static\.cfg:\d+: nw-syd-efs1\/1: EFS server nw-syd-efs1 needs TLS, which needs its file system id/ })
  untouched(t, map, 'TLS export')
})

t.test('--check and --diff', async (t) => {
  const map = existingMap(t)
  writeFileSync(map.source, readFileSync(map.source, 'utf8').replace('kamen/2\n', 'kamen/2\nkamen/9\n').replace('nw-syd-efs1/2\n', ''))
  const r = await mapGen(['--source', map.source, '--output', map.output, '--check', '--diff'])
  t.equal(r.code, 1, 'would change')
  t.match(r.out, /^-\/import\/nw-syd-efs1\/2 -fstype=nfs4.*$/m)
  t.match(r.out, /^\+\/import\/kamen\/9 -fstype=nfs,vers=4,nosuid,nodev kamen:\/export\/kamen\/9$/m)
  t.equal(r.out.split('\n').filter((l) => /^[-+]\//.test(l)).length, 2, 'only the real changes, not column padding')
  t.match(r.out, /would change \(5 exports\)/)
  untouched(t, map, '--check')
  const w = await mapGen(['--source', map.source, '--output', map.output])
  t.match(w, { code: 0, out: /written, 5 exports/ })
  t.match(readFileSync(map.output, 'utf8'), /^\/import\/kamen\/9 /m)
})

t.test('the drop guard refuses to empty a map', async (t) => {
  const map = existingMap(t)
  writeFileSync(map.source, 'kamen/1\nkamen/2\n')
  const r = await mapGen(['--source', map.source, '--output', map.output])
  t.match(r, { code: 2, err: /refused: .*auto\.static would lose 3 of its 5 entries \(60%, more than --max-drop 25%\)/ })
  untouched(t, map, 'guard')
  writeFileSync(map.source, '# nothing\n')
  t.match(await mapGen(['--source', map.source, '--output', map.output]), { code: 2, err: /lose 5 of its 5/ })
  untouched(t, map, 'empty source')
  t.match(await mapGen(['--source', map.source, '--output', map.output, '--max-drop', '100']), { code: 0, out: /written, 0 exports/ })
})

t.test('usage', async (t) => {
  t.match(await mapGen(['--output', 'a', '--output', 'b']), { code: 2, err: /--output is given more than once/ })
  t.match(await mapGen(['--max-drop', '150']), { code: 2, err: /--max-drop must be a percentage/ })
  t.match(await mapGen(['--frobnicate']), { code: 2, err: /Unknown argument: frobnicate/ })
})
