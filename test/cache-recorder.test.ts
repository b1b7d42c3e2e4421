// The resident agent records what LDAP said in the last-known-good cache in
// batches: a lookup that changes nothing touches no file, changes are
// written together, and another writer's rewrite is noticed. Through the
// agent, a home learnt a moment before LDAP dies is still answered.

import t, { type Test } from 'tap'
import { readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { readHomesCache } from '../src/cache/homes-cache.js'
import { BatchedRecorder, directRecorder } from '../src/cache/recorder.js'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { waitFor } from './fixtures/processes.js'
import { mapEnv, runMap } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'
import { startSlapd } from './fixtures/slapd.js'

const DAY = 86400

/** A batched recorder for a cache file of its own (written only when flushed: the batch is never due), and a time. */
function batched(t: Test) {
  const file = join(scratchDir(t), 'homes.json')
  return { file, recorder: new BatchedRecorder(file, 60_000), now: 1_800_000_000 }
}

t.test('batched: one write for many changes, none for a lookup that changes nothing', async (t) => {
  const { file, recorder, now } = batched(t)
  for (let i = 0; i < 50; i++) recorder.record(`u${i}`, `/import/kamen/2/u${i}`, now, DAY)
  t.throws(() => statSync(file), 'nothing written before the batch is due')
  recorder.flush(now)
  t.equal(readHomesCache(file).size, 50, 'all fifty in one write')
  const written = statSync(file).mtimeMs
  recorder.record('u7', '/import/kamen/2/u7', now + 10, DAY)
  recorder.flush(now + 10)
  t.equal(statSync(file).mtimeMs, written, 'the same answer again: the file is left alone')
  recorder.record('u7', '/import/kamen/3/u7', now + 20, DAY)
  recorder.record('u8', undefined, now + 20, 0)
  recorder.flush(now + 20)
  const cache = readHomesCache(file)
  t.equal(cache.get('u7')?.location, '/import/kamen/3/u7', 'a moved home')
  t.notOk(cache.has('u8'), 'a user LDAP no longer has')
  const after = statSync(file).mtimeMs
  recorder.record('u8', undefined, now + 30, 0)
  recorder.record('nobody', undefined, now + 30, 0)
  recorder.flush(now + 30)
  t.equal(statSync(file).mtimeMs, after, 'users LDAP does not have, and the file does not hold: left alone')
})

t.test("batched: another writer's rewrite (or a removed file) is noticed", async (t) => {
  const { file, recorder, now } = batched(t)
  recorder.record('u1', '/import/kamen/2/u1', now, DAY)
  recorder.flush(now)
  rmSync(file)
  recorder.record('u1', '/import/kamen/2/u1', now + 5, DAY)
  recorder.flush(now + 5)
  t.equal(readHomesCache(file).get('u1')?.at, now + 5, 'recorded again after the file went away')
})

t.test("batched: another writer's entries are kept, not overwritten from memory", async (t) => {
  const { file, recorder, now } = batched(t)
  recorder.record('u1', '/import/kamen/2/u1', now, DAY)
  recorder.flush(now)
  // The Node map of a lookup the agent did not answer records a user of its own.
  directRecorder(file).record('u2', '/import/kamen/2/u2', now + 1, DAY)
  recorder.record('u3', '/import/kamen/2/u3', now + 2, DAY)
  recorder.flush(now + 2)
  t.same([...readHomesCache(file).keys()].sort(), ['u1', 'u2', 'u3'])
})

t.test('direct: written through at once', async (t) => {
  const file = join(scratchDir(t), 'homes.json')
  directRecorder(file).record('u1', '/import/kamen/2/u1', 1_800_000_000, DAY)
  t.equal(readHomesCache(file).get('u1')?.location, '/import/kamen/2/u1')
})

t.test('through the agent: a home learnt just before LDAP dies is answered from the cache', async (t) => {
  const slapd = await startSlapd(t, [{ uid: 'alice', home: '/import/kamen/2/alice' }])
  const { file, dir } = writeConfig(t, siteConfig([slapd.url], '{dir}'))
  await runMap('thin', ['alice'], mapEnv(file))
  await waitFor('the agent', () => {
    try {
      return readFileSync(join(dir, 'agent', 'agent.pid'), 'utf8')
    } catch {
      return undefined
    }
  })
  // Only the agent's lookup below records alice: the first one (no agent yet) wrote the cache itself.
  rmSync(join(dir, 'cache', 'homes.json'), { force: true })
  t.match(await runMap('thin', ['alice'], mapEnv(file)), { code: 0, stdout: /kamen:\/export\/kamen\/2\/alice\n$/ }, 'the agent answers')
  await slapd.kill()
  t.match(await runMap('thin', ['alice'], mapEnv(file)), { code: 0, stdout: /kamen:\/export\/kamen\/2\/alice\n$/ }, 'from the cache')
})
