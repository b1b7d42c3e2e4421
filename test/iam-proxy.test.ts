// The TLS proxy with IAM and an access point, against an EFS stand-in that
// requires a client certificate and has an independent verifier (Python,
// openssl) check every one before NFS (nfs-ganesha) answers; credentials
// from the environment and from an IMDSv2-only instance metadata fake that
// rotates them; all inside a network namespace the test owns.

import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnReady, waitFor } from './fixtures/processes.js'
import { ROOT } from './fixtures/run.js'
import { clientVerdicts, FS_ID, nfsUrl, proxyState as rigState, type Rig, startRig } from './fixtures/tls-rig.js'
import type { ProxyState } from '../src/proxy/state.js'
import { kernelLacks } from './fixtures/kernel.js'
import { startSlapd } from './fixtures/slapd.js'

const AP = 'fsap-0123456789abcdef0'
const ENV_KEY = { id: 'AKIAENVIRONMENT00001', secret: 'env/secret+1', token: 'FwoGZXIvYXdzEHEaDP+envtoken/=' }
const ROLE_KEYS = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({
  id: `ASIAINSTANCEROLE000${i}`,
  secret: `role/secret+${i}`,
  token: `IQoJb3JpZ2luX2VjE${i}+role/token==`,
}))

const proxyState = (rig: Rig) => rigState(rig) as unknown as ProxyState

const missing = kernelLacks('netns')
if (missing === undefined) await suite()
else t.plan(0, missing)

function knownCredentials(t: Test, dir: string): string {
  const file = join(dir, 'known-credentials.json')
  writeFileSync(file, JSON.stringify(Object.fromEntries([ENV_KEY, ...ROLE_KEYS].map((k) => [k.id, { secret: k.secret, token: k.token }]))))
  t.comment(`verifier credentials: ${file}`)
  return file
}

/** A rig whose EFS requires IAM and the access point, verified independently. */
async function iamRig(t: Test, proxyExtra = '', deadline?: number): Promise<Rig> {
  const dir = (await import('./fixtures/scratch.js')).scratchDir(t, 'known')
  return startRig(t, {
    role: 'iam',
    verifyClients: ['--fs', FS_ID, '--region', 'us-east-1', '--access-point', AP, '--iam', '--credentials', knownCredentials(t, dir)],
    configExtra: `iam = true\naccess_point = ${AP}\n`,
    proxyExtra,
    ...(deadline === undefined ? {} : { deadline }),
  })
}

/**
 * The instance metadata fake in the rig's namespace, answering as `imds`
 * (fake-aws.mjs's scenario) says: the instance role's credentials, one set
 * a request. Returns the scenario's writer, the request log, and the
 * environment that sends the AWS SDK there.
 */
async function instanceRole(
  t: Test,
  rig: Rig,
  imds: object,
): Promise<{ scenario: (extra: object) => void; requests: string; env: NodeJS.ProcessEnv }> {
  const file = join(rig.dir, 'aws-scenario.json')
  const requests = join(rig.dir, 'aws-requests.log')
  const expiring = new Date(Date.now() + 3600_000).toISOString()
  const scenario = (extra: object) =>
    writeFileSync(
      file,
      JSON.stringify({
        imds: {
          role: 'efs-host',
          credentials: ROLE_KEYS.map((k) => ({ AccessKeyId: k.id, SecretAccessKey: k.secret, Token: k.token, Expiration: expiring })),
          ...imds,
          ...extra,
        },
      }),
    )
  scenario({})
  writeFileSync(requests, '')
  await spawnReady(t, 'the instance metadata fake', [
    ...rig.ns.exec,
    'env',
    '-u',
    'NODE_OPTIONS',
    process.execPath,
    join(ROOT, 'test/fixtures/fake-aws.mjs'),
    file,
    requests,
  ])
  return {
    scenario,
    requests,
    env: isolated(rig, { AWS_EC2_METADATA_DISABLED: 'false', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:8081/' }),
  }
}

/** Nothing of this machine's: no ~/.aws, and instance metadata only where the test says. */
function isolated(rig: Rig, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    HOME: rig.dir,
    AWS_CONFIG_FILE: join(rig.dir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(rig.dir, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  }
}

const fromEnv = { AWS_ACCESS_KEY_ID: ENV_KEY.id, AWS_SECRET_ACCESS_KEY: ENV_KEY.secret, AWS_SESSION_TOKEN: ENV_KEY.token }

async function suite(): Promise<void> {
  t.test('IAM and an access point: every connection carries a certificate EFS accepts, and NFS works through it', async (t) => {
    const rig = await iamRig(t)
    const ensured = await rig.exec(['node', join(ROOT, 'dist/src/bin/efs-home.js'), 'proxy', 'ensure', FS_ID], isolated(rig, fromEnv))
    t.equal(ensured.code, 0, ensured.stderr)
    const port = Number(ensured.stdout.trim())
    const out = join(rig.dir, 'big.copy')
    const cp = await rig.exec(['nfs-cp', nfsUrl(port, '/big.bin'), out])
    t.equal(cp.code, 0, cp.stderr)
    t.ok(readFileSync(out).equals(rig.big), 'byte-identical through a verified client certificate')
    const verdicts = clientVerdicts(rig)
    t.ok(verdicts.length >= 2, 'the start probe and the copy each opened a session')
    t.ok(
      verdicts.every((v) => v.ok && v.accessKeyId === ENV_KEY.id && v.accessPoint === AP),
      `all accepted, with the key id and the access point: ${JSON.stringify(verdicts)}`,
    )
    t.match(proxyState(rig), {
      client: { iam: true, accessPoint: AP, source: 'environment (AWS_ACCESS_KEY_ID)', accessKeyId: ENV_KEY.id },
    })
    // The lookup's trace says what the proxy presents.
    await startSlapd(t, [{ uid: 'alice', home: `/import/${FS_ID}/1/alice` }], { netns: rig.ns, host: '127.0.0.1' })
    const traced = await rig.exec(['node', join(ROOT, 'dist/src/bin/efs-home.js'), 'lookup', 'alice'], isolated(rig, fromEnv))
    t.match(
      traced.stdout,
      new RegExp(
        `proxy +TLS proxy for ${FS_ID} up on 127\\.0\\.0\\.1:${port}, presenting a client certificate with its IAM identity and access point ${AP}\n`,
      ),
    )
  })

  t.test('IMDSv2 credentials that rotate while a connection is open: it carries on, new connections carry the new key', async (t) => {
    // Renewed every 2 s, so several times during the held connection.
    const rig = await iamRig(t, 'certificate_renewal = 2\n')
    const { scenario: roleScenario, requests, env: imds } = await instanceRole(t, rig, {})
    const ensured = await rig.exec(['node', join(ROOT, 'dist/src/bin/efs-home.js'), 'proxy', 'ensure', FS_ID], imds)
    t.equal(ensured.code, 0, ensured.stderr)
    const port = ensured.stdout.trim()
    t.match(
      readFileSync(requests, 'utf8'),
      /^imds PUT \/latest\/api\/token\nimds GET \/latest\/meta-data\/iam\/security-credentials\/\n/,
      'IMDSv2: a token first',
    )
    t.match(proxyState(rig), { client: { source: 'instance role (IMDSv2)', accessKeyId: ROLE_KEYS[0]!.id } })
    // Twelve NFS calls over 6 s on one connection, across several renewals.
    const held = rig.exec(['node', join(ROOT, 'test/fixtures/nfs-null.mjs'), `127.0.0.1:${port}`, '12', '500'])
    await waitFor('a renewed certificate', () => (proxyState(rig).client?.accessKeyId !== ROLE_KEYS[0]!.id ? true : undefined), 15_000)
    const after = await rig.exec(['nfs-ls', nfsUrl(Number(port))])
    t.equal(after.code, 0, after.stderr)
    t.match(await held, { code: 0, stdout: '12 answered\n' }, 'the connection opened before the renewals was never cut')
    const ids = clientVerdicts(rig).map((v) => v.accessKeyId)
    t.ok(
      clientVerdicts(rig).every((v) => v.ok),
      'every certificate verified',
    )
    t.not(ids.at(-1), ids[0], `the newest connection carries a newer key than the first (${ids.join(', ')})`)

    // The instance role goes away: the proxy keeps its certificate, says why, and doctor fails.
    roleScenario({ credentialsDown: true })
    const failing = await waitFor('a failed renewal', () => proxyState(rig).client?.renewalError, 15_000)
    t.match(failing, /no AWS credentials/)
    const still = await rig.exec(['nfs-ls', nfsUrl(Number(port))])
    t.equal(still.code, 0, 'new connections still get through with the certificate in use')
    t.ok(clientVerdicts(rig).at(-1)?.ok, 'and EFS still accepts it')
    const doctor = await rig.exec(['node', join(ROOT, 'dist/src/bin/efs-home.js'), 'doctor', '--json'], imds)
    const check = (JSON.parse(doctor.stdout) as { check: string; ok: boolean; detail: string }[]).find(
      (c) => c.check === `efs ${FS_ID} client certificate`,
    )
    t.match(check, {
      ok: false,
      detail:
        /^IAM ASIAINSTANCEROLE\d+ from instance role \(IMDSv2\); certificate valid \d+ more minutes, but renewing it fails: no AWS credentials/,
    })
    t.comment(
      readFileSync(join(rig.dir, 'run', `proxy-${FS_ID}.log`), 'utf8')
        .split('\n')
        .filter((l) => /certificate/.test(l))
        .slice(-3)
        .join('\n'),
    )
  })

  t.test('a proxy start slower than the deadline (credentials from a slow source): said as still starting, and it goes on', async (t) => {
    const rig = await iamRig(t, '', 2)
    // Each of IMDSv2's three requests (token, role, credentials) answered after 1.5 s: the start outlasts the deadline of 2 s.
    const { env } = await instanceRole(t, rig, { delayMs: 1500 })
    const ensure = () => rig.exec(['node', join(ROOT, 'dist/src/bin/efs-home.js'), 'proxy', 'ensure', FS_ID], env)
    const first = await ensure()
    t.not(first.code, 0)
    t.match(
      first.stderr,
      /^efs-home: proxy ensure: the TLS proxy for fs-12345678 is still starting \(\d+ s so far\); the deadline of 2 s ran out; see \S+\/proxy-fs-12345678\.log\n$/,
    )
    const later = await waitFor('the proxy the first lookup started', async () => ((await ensure()).code === 0 ? true : undefined), 30_000)
    t.ok(later, 'the start went on after the lookup gave up, and a later lookup finds the proxy up')
    t.match(proxyState(rig), { client: { source: 'instance role (IMDSv2)' } })
  })

  t.test('no credentials at start: the lookup fails at once with the cause; nothing listens, no session is opened', async (t) => {
    const rig = await iamRig(t)
    const started = Date.now()
    const r = await rig.exec(['node', join(ROOT, 'dist/src/bin/efs-home.js'), 'proxy', 'ensure', FS_ID], isolated(rig, {}))
    t.not(r.code, 0)
    t.match(r.stderr, /the TLS proxy for fs-12345678 cannot start: no AWS credentials for IAM: /)
    t.ok(Date.now() - started < 30_000, 'within the deadline')
    t.same(clientVerdicts(rig), [], 'EFS never saw a connection: no certificate, no session, no plaintext')
    const status = await rig.exec(['node', join(ROOT, 'dist/src/bin/efs-home.js'), 'proxy', 'status'])
    t.match(status.stdout, /fs-12345678: DOWN/)
  })

  t.test('a certificate EFS refuses: the start fails with "access denied" and why', async (t) => {
    const rig = await iamRig(t)
    const unknown = { AWS_ACCESS_KEY_ID: 'AKIANOTKNOWNTOEFS000', AWS_SECRET_ACCESS_KEY: 'x', AWS_SESSION_TOKEN: 'abc' }
    const r = await rig.exec(['node', join(ROOT, 'dist/src/bin/efs-home.js'), 'proxy', 'ensure', FS_ID], isolated(rig, unknown))
    t.not(r.code, 0)
    t.match(
      r.stderr,
      /cannot start: access denied: EFS refused this host's client certificate \(IAM and fsap-0123456789abcdef0\): EFS ended the TLS session before any NFS reply.*and this host's clock \(now \d{4}-\d\d-\d\dT[\d:.]+Z: a signature made more than a few minutes off is refused\)/,
    )
    t.match(clientVerdicts(rig)[0], { ok: false, why: 'unknown access key id AKIANOTKNOWNTOEFS000' })
  })
}
