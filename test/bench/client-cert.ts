// What a client certificate (IAM, access point) costs: time to first byte
// through the proxy with and without one, side by side in one network
// namespace (two stunnel servers in front of one NFS NULL responder, one of
// them requiring a client certificate), and the time to sign a certificate
// and to make the host key.

import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeConfig } from '../fixtures/config.js'
import { createNetns } from '../fixtures/netns.js'
import { runCommand, spawnOwned, waitFor } from '../fixtures/processes.js'
import { EFS_HOME_BIN, ROOT } from '../fixtures/run.js'
import { type Owner, scratchDir } from '../fixtures/scratch.js'
import { startStunnel } from '../fixtures/stunnel.js'
import { makeTestCa } from '../fixtures/tls.js'
import { PROXY_NODE_FLAGS } from '../../src/proxy/supervisor.js'
import { clientCertificate } from '../../src/efs/client-certificate.js'

const PLAIN = 'fs-0aaa0001'
const IAM = 'fs-0bbb0002'
const AP = 'fsap-0123456789abcdef0'
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIABENCHEXAMPLE0001', AWS_SECRET_ACCESS_KEY: 'bench/secret', AWS_SESSION_TOKEN: 'benchtoken==' }

export interface ClientCertBench {
  readonly connections: number
  readonly firstByteMs: { readonly plain: number; readonly 'client certificate': number }
  readonly ratio: number
  readonly signMs: number
  readonly keyMs: number
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN

export async function benchClientCert(owner: Owner, connections: number): Promise<ClientCertBench> {
  // Signing and key generation, in this process.
  const keyTimes: number[] = []
  let key = generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint()
    key = generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey
    keyTimes.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  const signTimes: number[] = []
  for (let i = 0; i < 200; i++) {
    const t0 = process.hrtime.bigint()
    clientCertificate({
      key,
      commonName: 'bench',
      fsId: IAM,
      region: 'us-east-1',
      accessPoint: AP,
      credentials: {
        accessKeyId: CREDENTIALS.AWS_ACCESS_KEY_ID,
        secretAccessKey: CREDENTIALS.AWS_SECRET_ACCESS_KEY,
        sessionToken: CREDENTIALS.AWS_SESSION_TOKEN,
        expiration: undefined,
        source: 'bench',
        accountId: undefined,
      },
      client: { source: 'efs-home', version: 'bench' },
      now: new Date(),
    })
    signTimes.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }

  // Time to first byte, in a namespace of its own.
  const ns = createNetns(owner, 'bcc')
  const inNs = (argv: string[]) => [...ns.exec, 'env', '-u', 'NODE_OPTIONS', ...argv]
  const responder = inNs([process.execPath, join(ROOT, 'test/bench/nfs-null-responder.mjs'), '127.0.0.1:4000'])
  spawnOwned(owner, responder[0]!, responder.slice(1))
  const ca = makeTestCa(owner)
  const name = (fs: string) => `${fs}.efs.us-east-1.amazonaws.com`
  await startStunnel(owner, { accept: '127.0.0.1:3049', connect: '127.0.0.1:4000', cert: ca.issue(name(PLAIN), [name(PLAIN)]), netns: ns })
  await startStunnel(owner, {
    accept: '127.0.0.1:3050',
    connect: '127.0.0.1:4000',
    cert: ca.issue(name(IAM), [name(IAM)]),
    netns: ns,
    // Any client certificate, but one there must be.
    extra: ['requireCert = yes', 'verifyChain = no', 'verifyPeer = no'],
  })
  const dir = scratchDir(owner, 'bcc')
  const ports: Record<string, number> = { [PLAIN]: 300, [IAM]: 301 }
  const { file } = writeConfig(
    owner,
    `[ldap]\nuri = ldap://127.0.0.1:1\nbase = dc=x\n[efs]\nca_file = ${ca.caFile}\nport_range = 300-301\n[proxy]\nstate_dir = ${dir}/run\nport_file = ${dir}/ports.json\nlog_connections = false\n` +
      `[server "${PLAIN}"]\nmount_target_ip = 127.0.0.1\n[server "${IAM}"]\nmount_target_ip = 127.0.0.1\niam = true\naccess_point = ${AP}\n`,
  )
  for (const [fs, target] of [
    [PLAIN, '3049'],
    [IAM, '3050'],
  ] as const) {
    const run = inNs([process.execPath, ...PROXY_NODE_FLAGS, EFS_HOME_BIN, 'proxy', 'run', '--fs', fs])
    spawnOwned(owner, run[0]!, run.slice(1), {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        EFS_HOME_CONFIG: file,
        EFS_HOME_TEST_TARGET_PORT: target,
        AWS_EC2_METADATA_DISABLED: 'true',
        ...CREDENTIALS,
      },
    })
    ports[fs] = await waitFor(`the proxy for ${fs}`, () => {
      try {
        return (JSON.parse(readFileSync(join(dir, 'run', `proxy-${fs}.json`), 'utf8')) as { port: number }).port
      } catch {
        return undefined
      }
    })
  }
  // One measuring client inside the namespace, taking turns between the two proxies.
  const measured = await runCommand(
    ns.exec[0]!,
    [
      ...ns.exec.slice(1),
      'env',
      '-u',
      'NODE_OPTIONS',
      process.execPath,
      join(ROOT, 'test/bench/first-byte.mjs'),
      String(connections),
      String(ports[PLAIN]),
      String(ports[IAM]),
    ],
    { PATH: process.env.PATH },
  )
  if (measured.code !== 0) throw new Error(`first-byte client: ${measured.stderr}`)
  const [plain, withCert] = JSON.parse(measured.stdout) as [number[], number[]]
  const firstByteMs = { plain: median(plain), 'client certificate': median(withCert) }
  return {
    connections,
    firstByteMs,
    ratio: firstByteMs['client certificate'] / firstByteMs.plain,
    signMs: median(signTimes),
    keyMs: median(keyTimes),
  }
}
