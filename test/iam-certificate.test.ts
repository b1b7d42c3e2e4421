// EFS client certificates (IAM, access points), checked by a verifier
// written apart from efs-home (Python with its own DER reader, the openssl
// command line, SigV4 recomputed with hmac): signed through `efs-home proxy
// certificate` with credentials from the AWS SDK's chain, as a proxy signs
// them. The config refuses what cannot work, and a broken host key is
// replaced, never fatal.

import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseConfig } from '../src/config/load.js'
import { runCommand } from './fixtures/processes.js'
import { EFS_HOME_BIN, ROOT } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'

const FS = 'fs-12345678'
const AP = 'fsap-0123456789abcdef0'
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE'
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
// Base64 with + / =, which the signature's query string must escape as efs-utils does.
const TOKEN = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+/Ab=='
const VERIFIER = join(ROOT, 'test', 'fixtures', 'verify-efs-cert.py')

interface Site {
  readonly dir: string
  readonly config: string
  /** The credentials the verifier knows, by access key id. */
  readonly known: string
}

function site(t: Test, server = `iam = true\naccess_point = ${AP}\n`, efs = ''): Site {
  const dir = scratchDir(t, 'iam')
  const config = join(dir, 'efs-home.conf')
  writeFileSync(
    config,
    `[ldap]\nuri = ldap://127.0.0.1:1\nbase = dc=example,dc=edu\n[efs]\nregion = eu-west-1\n${efs}[proxy]\nstate_dir = ${dir}/run\n[server "${FS}"]\n${server}`,
  )
  const known = join(dir, 'known.json')
  writeFileSync(
    known,
    JSON.stringify({ [KEY_ID]: { secret: SECRET, token: TOKEN }, AKIAPROFILEEXAMPLE00: { secret: 'profile/secret+key', token: null } }),
  )
  return { dir, config, known }
}

/** Only what the test gives: no instance metadata, no ~/.aws of this machine. */
function env(s: Site, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: s.dir,
    EFS_HOME_CONFIG: s.config,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(s.dir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(s.dir, 'no-credentials'),
    ...extra,
  }
}

const fromEnv = { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: TOKEN }

/** The verifier's verdict on the certificate `efs-home proxy certificate --pem` signs. */
async function verdict(t: Test, s: Site, vars: NodeJS.ProcessEnv, args: string[]): Promise<Record<string, unknown>> {
  const signed = await runCommand(process.execPath, [EFS_HOME_BIN, 'proxy', 'certificate', FS, '--pem'], env(s, vars))
  t.equal(signed.code, 0, signed.stderr)
  const der = join(s.dir, 'cert.der')
  execFileSync('openssl', ['x509', '-outform', 'DER', '-out', der], { input: signed.stdout })
  try {
    return JSON.parse(
      execFileSync('/usr/bin/python3', [VERIFIER, der, '--fs', FS, '--region', 'eu-west-1', '--credentials', s.known, ...args], {
        encoding: 'utf8',
      }),
    )
  } catch (err) {
    return JSON.parse((err as { stdout: string }).stdout)
  }
}

t.test('IAM and an access point, credentials from the environment: the verifier accepts every field', async (t) => {
  const s = site(t)
  t.match(await verdict(t, s, fromEnv, ['--iam', '--access-point', AP]), {
    ok: true,
    accessKeyId: KEY_ID,
    accessPoint: AP,
    sessionToken: true,
    client: ['efs-home', /^\d+\.\d+\.\d+/],
  })
  const shown = await runCommand(process.execPath, [EFS_HOME_BIN, 'proxy', 'certificate', FS], env(s, fromEnv))
  t.match(
    shown.stdout,
    new RegExp(
      `^${FS}: client certificate signed .*, valid until .*\\n  access point ${AP}\\n  IAM ${KEY_ID} from environment \\(AWS_ACCESS_KEY_ID\\), with a session token\\n$`,
    ),
  )
  t.equal(statSync(join(s.dir, 'run', 'client-key.pem')).mode & 0o777, 0o600, 'the host key is root-only')
  const key = readFileSync(join(s.dir, 'run', 'client-key.pem'))
  await verdict(t, s, fromEnv, ['--iam', '--access-point', AP])
  t.ok(readFileSync(join(s.dir, 'run', 'client-key.pem')).equals(key), 'one key per host, kept')
  // A verifier given another secret for the same key id: the signature must not pass.
  writeFileSync(s.known, JSON.stringify({ [KEY_ID]: { secret: `${SECRET}x`, token: TOKEN } }))
  t.match(await verdict(t, s, fromEnv, ['--iam', '--access-point', AP]), { ok: false, why: 'SigV4 signature mismatch' })
})

t.test('a profile in a shared credentials file, IAM without an access point', async (t) => {
  const s = site(t, 'iam = true\n', 'aws_profile = labs\n')
  const credentials = join(s.dir, 'credentials')
  writeFileSync(
    credentials,
    '[default]\naws_access_key_id = AKIADEFAULTEXAMPLE00\naws_secret_access_key = nope\n[labs]\naws_access_key_id = AKIAPROFILEEXAMPLE00\naws_secret_access_key = profile/secret+key\n',
  )
  const vars = { AWS_SHARED_CREDENTIALS_FILE: credentials }
  t.match(await verdict(t, s, vars, ['--iam']), { ok: true, accessKeyId: 'AKIAPROFILEEXAMPLE00', accessPoint: null, sessionToken: false })
  const shown = await runCommand(process.execPath, [EFS_HOME_BIN, 'proxy', 'certificate', FS, '--json'], env(s, vars))
  t.match(JSON.parse(shown.stdout), {
    iam: { accessKeyId: 'AKIAPROFILEEXAMPLE00', source: "profile in the shared credentials files 'labs'" },
  })
})

t.test('an access point alone needs no credentials at all', async (t) => {
  const s = site(t, `access_point = ${AP}\n`)
  t.match(await verdict(t, s, {}, ['--access-point', AP]), { ok: true, accessPoint: AP })
})

t.test('no credentials anywhere: one clear line, exit 2, at once', async (t) => {
  const s = site(t)
  const r = await runCommand(process.execPath, [EFS_HOME_BIN, 'proxy', 'certificate', FS], env(s))
  t.equal(r.code, 2)
  t.match(
    r.stderr,
    /^efs-home: proxy certificate: no AWS credentials for IAM: .*\(the SDK's chain: environment, profile default, SSO, web identity, container, instance role\)\n$/,
  )
  t.equal(r.stdout, '')
})

t.test('credentials that are not what STS hands out are refused before they reach a certificate', async (t) => {
  const s = site(t)
  for (const [vars, why] of [
    [{ ...fromEnv, AWS_ACCESS_KEY_ID: 'AKIA\nINJECTED0000000' }, /malformed access key id/],
    [{ ...fromEnv, AWS_SESSION_TOKEN: 'token with spaces' }, /malformed session token/],
  ] as const) {
    const r = await runCommand(process.execPath, [EFS_HOME_BIN, 'proxy', 'certificate', FS], env(s, vars))
    t.match(r, { code: 2, stdout: '', stderr: why })
  }
})

t.test('an empty or corrupt host key is replaced, never fatal', async (t) => {
  const s = site(t)
  const keyFile = join(s.dir, 'run', 'client-key.pem')
  await verdict(t, s, fromEnv, ['--iam', '--access-point', AP])
  for (const broken of ['', 'not a key\n', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n']) {
    writeFileSync(keyFile, broken)
    t.match(await verdict(t, s, fromEnv, ['--iam', '--access-point', AP]), { ok: true }, `replaced: ${JSON.stringify(broken.slice(0, 12))}`)
    t.match(readFileSync(keyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/)
  }
})

t.test('the config refuses IAM or an access point without TLS, and two certificates for one file system', async (t) => {
  const parse = (text: string) => () => parseConfig('/etc/efs-home/efs-home.conf', `[ldap]\nuri = ldap://x\nbase = dc=x\n${text}`)
  t.throws(parse('[efs]\niam = true\ntls = false\n'), {
    code: 'CONFIG',
    message: /\[efs\] iam: IAM authorization travels in the TLS session: needs tls = true/,
  })
  t.throws(parse(`[server "${FS}"]\ntls = false\naccess_point = ${AP}\n`), {
    message: /\[server "fs-12345678"\] access_point: an access point travels in the TLS session/,
  })
  t.throws(parse(`[server "${FS}"]\naccess_point = fsap-123\n`), { message: /not an EFS access point id/ })
  t.throws(parse(`[server "homes"]\nfs_id = ${FS}\naccess_point = ${AP}\n[server "web"]\nfs_id = ${FS}\n`), {
    message:
      /fs-12345678 is also served by \[server "homes"\] with no iam and fsap-0123456789abcdef0: .*one client certificate, per file system/,
  })
  t.throws(parse('[efs]\naws_profile = has space\n'), { message: /not an AWS profile name/ })
  t.doesNotThrow(
    parse(
      `[efs]\niam = true\n[server "homes"]\nfs_id = ${FS}\naccess_point = ${AP}\n[server "web"]\nfs_id = ${FS}\naccess_point = ${AP}\n`,
    ),
  )
})
