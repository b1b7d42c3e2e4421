// The client certificate a TLS proxy presents to EFS, as efs-utils makes it
// (certificate_utils.py): self-signed with the host key, CN = the host name,
// valid from 15 minutes ago for 3 hours, and EFS's own extensions: the
// access point, the IAM identity (access key id, a SigV4 signature that
// ties it to this key, the signing time, the session token), the file
// system id and the client. Built with @peculiar/asn1-x509 (X.509
// structures) and asn1js (the extension values) rather than hand-written
// DER or the openssl command line: typed structures, DER encoding that
// openssl and Python parse, no process per certificate.

import { createHash, createHmac, createPublicKey, type KeyObject, randomBytes, sign } from 'node:crypto'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import * as x509 from '@peculiar/asn1-x509'
import * as asn1 from 'asn1js'
import type { AwsCredentials } from './credentials.js'

export const EFS_OID = {
  accessPoint: '1.3.6.1.4.1.4843.7.1',
  iam: '1.3.6.1.4.1.4843.7.2',
  fileSystem: '1.3.6.1.4.1.4843.7.3',
  client: '1.3.6.1.4.1.4843.7.4',
} as const

const NOT_BEFORE_MS = 15 * 60_000
export const CERTIFICATE_LIFETIME_MS = 3 * 3600_000
const SHA256_RSA = '1.2.840.113549.1.1.11'
const COMMON_NAME = '2.5.4.3'
const SUBJECT_KEY_IDENTIFIER = '2.5.29.14'

export interface CertificateRequest {
  readonly key: KeyObject
  readonly commonName: string
  readonly fsId: string
  readonly region: string
  readonly accessPoint: string | undefined
  /** Without: no IAM extension (an access point alone). */
  readonly credentials: AwsCredentials | undefined
  readonly client: { readonly source: string; readonly version: string }
  readonly now: Date
}

export interface ClientCertificate {
  readonly pem: string
  readonly notAfter: Date
}

/** The key material (the DER RSAPublicKey inside the BIT STRING), as PublicKeyHash and subjectKeyIdentifier hash it. */
function publicKeyBits(key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: 'pkcs1', format: 'der' })
}

/** 20261202T173000Z and 20261202. */
function sigv4Times(now: Date): { stamp: string; date: string } {
  const stamp = `${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`
  return { stamp, date: stamp.slice(0, 8) }
}

/** Python's quote_plus, which efs-utils uses: everything but letters, digits and _.-~ escaped. */
function quotePlus(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('')
}

const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text, 'utf8').digest()
const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')

/**
 * The SigV4 signature EFS checks: over `GET / <query> host:<fs_id> host <sha256("")>`,
 * with no blank line after the one header (EFS's form, unlike standard SigV4).
 */
export function connectSignature(
  credentials: Pick<AwsCredentials, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>,
  fsId: string,
  region: string,
  publicKeyHash: string,
  now: Date,
): string {
  const { stamp, date } = sigv4Times(now)
  const scope = `${date}/${region}/elasticfilesystem/aws4_request`
  const query: Record<string, string> = {
    Action: 'Connect',
    PublicKeyHash: publicKeyHash,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': quotePlus(`${credentials.accessKeyId}/${scope}`),
    'X-Amz-Date': stamp,
    'X-Amz-Expires': '86400',
    'X-Amz-SignedHeaders': 'host',
    ...(credentials.sessionToken === undefined ? {} : { 'X-Amz-Security-Token': quotePlus(credentials.sessionToken) }),
  }
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((k) => `${k}=${query[k]}`)
    .join('&')
  const request = ['GET', '/', canonicalQuery, `host:${fsId}`, 'host', sha256Hex('')].join('\n')
  const toSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256Hex(request)].join('\n')
  const signingKey = ['elasticfilesystem', 'aws4_request'].reduce(
    (k, part) => hmac(k, part),
    hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region),
  )
  return hmac(signingKey, toSign).toString('hex')
}

/** The bytes as an ArrayBuffer of their own, which the ASN.1 types take. */
const arrayBuffer = (bytes: Buffer): ArrayBuffer => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer

const utf8 = (value: string) => new asn1.Utf8String({ value })

function extension(oid: string, value: asn1.BaseBlock | ArrayBuffer): x509.Extension {
  const der = value instanceof ArrayBuffer ? value : value.toBER()
  return new x509.Extension({ extnID: oid, critical: false, extnValue: new OctetString(der) })
}

function iamExtension(request: CertificateRequest, credentials: AwsCredentials, keyHash: string): x509.Extension {
  const signature = connectSignature(credentials, request.fsId, request.region, keyHash, request.now)
  return extension(
    EFS_OID.iam,
    new asn1.Sequence({
      value: [
        utf8(credentials.accessKeyId),
        // The hex text of the signature, as efs-utils' OCTETSTRING:<hex> writes it.
        new asn1.OctetString({ valueHex: new Uint8Array(Buffer.from(signature, 'ascii')) }),
        new asn1.UTCTime({ valueDate: request.now }),
        ...(credentials.sessionToken === undefined
          ? []
          : [new asn1.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [utf8(credentials.sessionToken)] })]),
      ],
    }),
  )
}

export function clientCertificate(request: CertificateRequest): ClientCertificate {
  const keyBits = publicKeyBits(request.key)
  const keyHash = createHash('sha1').update(keyBits).digest('hex')
  const spki = AsnConvert.parse(createPublicKey(request.key).export({ type: 'spki', format: 'der' }), x509.SubjectPublicKeyInfo)
  const algorithm = new x509.AlgorithmIdentifier({ algorithm: SHA256_RSA, parameters: null })
  const name = new x509.Name([
    new x509.RelativeDistinguishedName([
      new x509.AttributeTypeAndValue({
        type: COMMON_NAME,
        value: new x509.AttributeValue({ utf8String: request.commonName.slice(0, 64) }),
      }),
    ]),
  ])
  const notAfter = new Date(request.now.getTime() + CERTIFICATE_LIFETIME_MS)
  const serial = randomBytes(16)
  serial[0] = (serial[0] ?? 0) & 0x7f // positive
  const tbs = new x509.TBSCertificate({
    version: x509.Version.v3,
    serialNumber: arrayBuffer(serial),
    signature: algorithm,
    issuer: name,
    subject: name,
    validity: new x509.Validity({ notBefore: new Date(request.now.getTime() - NOT_BEFORE_MS), notAfter }),
    subjectPublicKeyInfo: spki,
    extensions: new x509.Extensions([
      extension(SUBJECT_KEY_IDENTIFIER, AsnConvert.serialize(new x509.SubjectKeyIdentifier(createHash('sha1').update(keyBits).digest()))),
      ...(request.accessPoint === undefined ? [] : [extension(EFS_OID.accessPoint, utf8(request.accessPoint))]),
      ...(request.credentials === undefined ? [] : [iamExtension(request, request.credentials, keyHash)]),
      extension(EFS_OID.fileSystem, utf8(request.fsId)),
      extension(EFS_OID.client, new asn1.Sequence({ value: [utf8(request.client.source), utf8(request.client.version)] })),
    ]),
  })
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), request.key)
  const der = Buffer.from(
    AsnConvert.serialize(
      new x509.Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: arrayBuffer(signature) }),
    ),
  )
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return { pem: `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`, notAfter }
}
