// `npm run bench` runs whole: every section, in its smallest sizes, prints
// its figures and leaves no process behind. A test of the bench, never of
// the figures (a test asserts behaviour, not durations).

import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { kernelLacks } from './fixtures/kernel.js'
import { runNode, ROOT } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'

/** Live processes by PID, with their command lines. */
function processes(): Map<number, string> {
  const all = new Map<number, string>()
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      all.set(Number(pid), readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim())
    } catch {
      // gone
    }
  }
  return all
}

const missing = kernelLacks('netns', 'veth', 'mountns')
t.test('npm run bench, smallest sizes: every section and drill, no process left', { skip: missing ?? false }, async (t) => {
  const json = join(scratchDir(t, 'bench'), 'figures.json')
  const before = processes()
  const small = '--runs 3 --lookups 20 --concurrency 1,5 --sizes 200 --megabytes 4 --rounds 1 --gib 0.05 --kill-every 1'
  const r = await runNode(
    join(ROOT, 'dist/test/bench/run.js'),
    [...small.split(' '), '--growth-lookups', '50', '--soak-lookups', '300', '--connections', '5', '--json', json],
    {
      PATH: process.env.PATH,
    },
  )
  t.equal(r.code, 0, r.stderr)
  for (const heading of [
    /^drills$/m,
    /^login storm: 20 lookups/m,
    /^TLS proxy vs stunnel client mode/m,
    /^TLS proxy with and without a client certificate/m,
    /^lookup latency \(3 runs each/m,
    /^efs-map-gen --from-ldap vs ldapsearch/m,
  ])
    t.match(r.stdout, heading)
  const drills = r.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l))
  // Whether a drill passes depends on timings under this machine's load: a figure, not this test's verdict.
  t.equal(drills.length, 6, 'six drills, each with its figures')
  t.match(r.stdout, /^ratio {2}throughput proxy \/ stunnel +\d/m, 'the proxy measured against stunnel')
  t.match(r.stdout, /^ {4}200 users: map-gen /m)
  const figures = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>
  t.same(
    Object.keys(figures)
      .filter((k) => figures[k] !== undefined)
      .sort(),
    ['clientCert', 'commit', 'date', 'drills', 'lookup', 'mapGen', 'node', 'options', 'proxy', 'storm'],
  )
  const left = [...processes()].filter(
    ([pid, argv]) => !before.has(pid) && /slapd|stunnel|ganesha|efs-home|fake-aws|tunnel-client/.test(argv),
  )
  t.same(left, [], 'every process the bench started is gone')
})
