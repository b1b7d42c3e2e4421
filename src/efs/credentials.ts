// AWS credentials for EFS IAM authorization, from the AWS SDK's own
// provider chain: environment, shared config and credentials files (with
// [efs] aws_profile), SSO, web identity, credential_process (IAM Roles
// Anywhere), container credentials, the instance role over IMDSv2. Loaded
// only by a proxy whose file system asks for IAM, never on the lookup path.

import { defaultProvider } from '@aws-sdk/credential-provider-node'
import { EfsHomeError, oneLine } from '../errors.js'

export interface AwsCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken: string | undefined
  readonly expiration: Date | undefined
  /** Where the chain found them, in words. */
  readonly source: string
  readonly accountId: string | undefined
}

// The STS grammar (efs-utils checks the same): what goes into a certificate
// must be one line of these characters, whatever a metadata service said.
const ACCESS_KEY_ID_RE = /^[A-Za-z0-9_]{16,128}$/
const SESSION_TOKEN_RE = /^[A-Za-z0-9+/=_-]{1,8192}$/
const ACCOUNT_RE = /^\d{12}$/

const SOURCES: Record<string, string> = {
  CREDENTIALS_ENV_VARS: 'environment (AWS_ACCESS_KEY_ID)',
  CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN: 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)',
  CREDENTIALS_STS_ASSUME_ROLE_WEB_ID: 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)',
  CREDENTIALS_PROFILE_SOURCE_PROFILE: 'profile with an assumed role',
  CREDENTIALS_PROFILE_PROCESS: 'profile credential_process',
  CREDENTIALS_PROFILE_SSO: 'profile SSO',
  CREDENTIALS_PROFILE_SSO_LEGACY: 'profile SSO',
  CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN: 'profile web identity',
  CREDENTIALS_PROFILE_LOGIN: 'profile login',
  CREDENTIALS_PROFILE: 'profile in the shared credentials files',
  CREDENTIALS_HTTP: 'container credentials (AWS_CONTAINER_CREDENTIALS_*)',
}

/** The chain's own note of where credentials came from; none is the instance role (IMDS). */
function sourceOf(credentials: { $source?: Record<string, unknown> }, profile: string | undefined): string {
  const features = Object.keys(credentials.$source ?? {})
  const known = Object.keys(SOURCES).find((f) => features.includes(f))
  const where = known === undefined ? 'instance role (IMDSv2)' : (SOURCES[known] ?? known)
  return known?.startsWith('CREDENTIALS_PROFILE') === true ? `${where} '${profile ?? process.env.AWS_PROFILE ?? 'default'}'` : where
}

function iamError(why: string): EfsHomeError {
  return new EfsHomeError('IAM', why)
}

/** Credentials from the chain within `timeoutMs`, checked; an IAM error naming the cause otherwise. */
export async function awsCredentials(profile: string | undefined, timeoutMs: number): Promise<AwsCredentials> {
  const provider = defaultProvider({ ...(profile === undefined ? {} : { profile }), timeout: Math.min(timeoutMs, 2000), maxRetries: 1 })
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(iamError(`no AWS credentials within ${timeoutMs / 1000} s (an instance metadata service that does not answer?)`)),
      timeoutMs,
    )
  })
  let got: Awaited<ReturnType<typeof provider>>
  try {
    got = await Promise.race([provider(), late])
  } catch (err) {
    if (err instanceof EfsHomeError) throw err
    throw iamError(
      `no AWS credentials for IAM: ${oneLine(err)} (the SDK's chain: environment, ${profile === undefined ? 'profile default' : `profile '${profile}'`}, SSO, web identity, container, instance role)`,
    )
  } finally {
    clearTimeout(timer)
  }
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = got
  if (typeof accessKeyId !== 'string' || !ACCESS_KEY_ID_RE.test(accessKeyId))
    throw iamError('the AWS credentials have a malformed access key id')
  if (typeof secretAccessKey !== 'string' || secretAccessKey === '' || /[\s\0]/.test(secretAccessKey))
    throw iamError('the AWS credentials have a malformed secret access key')
  if (sessionToken !== undefined && (typeof sessionToken !== 'string' || !SESSION_TOKEN_RE.test(sessionToken)))
    throw iamError('the AWS credentials have a malformed session token')
  if (expiration !== undefined && (!(expiration instanceof Date) || Number.isNaN(expiration.getTime())))
    throw iamError('the AWS credentials have a malformed expiration')
  if (expiration !== undefined && expiration.getTime() <= Date.now())
    throw iamError(
      `the AWS credentials expired at ${expiration.toISOString()} by this host's clock (now ${new Date().toISOString()}): is the clock right? (timedatectl)`,
    )
  const accountId = (got as { accountId?: unknown }).accountId
  return {
    accessKeyId,
    secretAccessKey,
    sessionToken: sessionToken === '' ? undefined : sessionToken,
    expiration,
    source: sourceOf(got as { $source?: Record<string, unknown> }, profile),
    accountId: typeof accountId === 'string' && ACCOUNT_RE.test(accountId) ? accountId : undefined,
  }
}
