// What a proxy for an IAM or access-point file system presents to EFS: the
// host key and a client certificate, renewed before the credentials or the
// certificate run out. Each new TLS connection takes the newest; those
// already open keep theirs. A renewal that fails keeps the certificate in
// use until it expires, and says why in the state file (doctor reads it).

import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { createSecureContext, type SecureContext } from 'node:tls'
import type { Config } from '../config/load.js'
import type { KeyObject } from 'node:crypto'
import { type ClientCertificate, clientCertificate } from '../efs/client-certificate.js'
import { hostClientKey } from '../efs/client-key.js'
import { type AwsCredentials, awsCredentials } from '../efs/credentials.js'
import { oneLine } from '../errors.js'
import { packageFile } from '../util/package-files.js'
import type { ProxyTarget } from './target.js'
import type { ServiceLog } from '../util/service-log.js'

export interface ClientStatus {
  readonly iam: boolean
  readonly accessPoint: string | undefined
  /** Where the credentials came from, their key id and account, when IAM. */
  readonly source?: string
  readonly accessKeyId?: string
  readonly accountId?: string
  /** Seconds since the epoch. */
  readonly credentialsExpire?: number
  readonly signed?: number
  readonly notAfter?: number
  /** Why the last renewal failed (the certificate in use stays). */
  readonly renewalError?: string
}

// How long a proxy waits for the credential chain (instance metadata may be slow to answer).
const CREDENTIALS_TIMEOUT_MS = 10_000
// Renew this long before the credentials or the certificate run out, and retry a failed renewal this soon.
const MARGIN_MS = 5 * 60_000
const RETRY_MS = 60_000
const seconds = (d: Date | undefined) => (d === undefined ? undefined : Math.floor(d.getTime() / 1000))

function clientVersion(): string {
  try {
    return String((JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown')
  } catch {
    return 'unknown'
  }
}

export interface SignedCertificate {
  readonly key: KeyObject
  readonly cert: ClientCertificate
  readonly credentials: AwsCredentials | undefined
  readonly now: Date
}

/** A new client certificate for `target`, with fresh credentials when it asks for IAM. */
export async function signClientCertificate(config: Config, target: ProxyTarget, log: ServiceLog): Promise<SignedCertificate> {
  // Credentials first: without them there is nothing to sign, and no key to make.
  const credentials = target.iam ? await awsCredentials(config.efs.aws_profile, CREDENTIALS_TIMEOUT_MS) : undefined
  const { key, made } = await hostClientKey(config)
  if (made !== undefined) log(`made the host's client key (${made})`)
  const now = new Date()
  const cert = clientCertificate({
    key,
    commonName: hostname(),
    fsId: target.fsId,
    region: target.region,
    accessPoint: target.accessPoint,
    credentials,
    client: { source: 'efs-home', version: clientVersion() },
    now,
  })
  return { key, cert, credentials, now }
}

export class ClientIdentity {
  private context!: SecureContext
  private current: ClientStatus
  private timer: NodeJS.Timeout | undefined

  private constructor(
    private readonly config: Config,
    private readonly target: ProxyTarget,
    private readonly ca: Buffer,
    private readonly log: ServiceLog,
  ) {
    this.current = { iam: target.iam, accessPoint: target.accessPoint }
  }

  /** The first certificate, or the reason there is none (the proxy must not start without it). */
  static async create(config: Config, target: ProxyTarget, ca: Buffer, log: ServiceLog): Promise<ClientIdentity> {
    const identity = new ClientIdentity(config, target, ca, log)
    await identity.renew()
    return identity
  }

  secureContext(): SecureContext {
    return this.context
  }

  status(): ClientStatus {
    return this.current
  }

  stop(): void {
    clearTimeout(this.timer)
  }

  private async renew(): Promise<void> {
    const { key, cert, credentials, now } = await signClientCertificate(this.config, this.target, this.log)
    this.context = createSecureContext({
      ca: this.ca,
      cert: cert.pem,
      key: key.export({ type: 'pkcs8', format: 'pem' }),
      minVersion: 'TLSv1.2',
    })
    this.current = {
      iam: this.target.iam,
      accessPoint: this.target.accessPoint,
      ...(credentials === undefined
        ? {}
        : {
            source: credentials.source,
            accessKeyId: credentials.accessKeyId,
            ...(credentials.accountId === undefined ? {} : { accountId: credentials.accountId }),
            ...(credentials.expiration === undefined ? {} : { credentialsExpire: seconds(credentials.expiration) }),
          }),
      signed: seconds(now),
      notAfter: seconds(cert.notAfter),
    }
    const ends = Math.min(cert.notAfter.getTime(), credentials?.expiration?.getTime() ?? Number.POSITIVE_INFINITY)
    this.log(
      `client certificate signed${credentials === undefined ? '' : ` for ${credentials.accessKeyId} (${credentials.source})`}, valid until ${cert.notAfter.toISOString()}`,
    )
    this.schedule(Math.min(this.config.proxy.certificate_renewal * 1000, Math.max(1000, ends - now.getTime() - MARGIN_MS)))
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.renew().catch((err: unknown) => {
        const why = oneLine(err)
        this.current = { ...this.current, renewalError: why }
        const left = (this.current.notAfter ?? 0) * 1000 - Date.now()
        this.log(
          `cannot renew the client certificate: ${why}; ${left > 0 ? `the current one stays, valid ${Math.round(left / 60_000)} more minutes` : 'the current one has expired: EFS will refuse new connections'}`,
          left > 0 ? 'warning' : 'err',
        )
        this.schedule(Math.min(RETRY_MS, this.config.proxy.certificate_renewal * 1000))
      })
    }, ms)
    this.timer.unref()
  }
}
