// EFS names, matched the way efs-utils matches them (FS_ID_RE, EFS_FQDN_RE
// in mount_efs) and built from the configured dns_name_format.

export const FS_ID_RE = /^fs-[0-9a-f]+$/
const EFS_FQDN_RE = /^(?:([a-z0-9-]+)\.)?(fs-[0-9a-f]+)\.efs\.([a-z0-9-]+)\.([a-z0-9.]+)$/

export interface EfsDnsName {
  readonly az: string | undefined
  readonly fsId: string
  readonly region: string
  readonly suffix: string
}

export function parseEfsDnsName(name: string): EfsDnsName | undefined {
  const m = EFS_FQDN_RE.exec(name.toLowerCase())
  if (m === null) return undefined
  return { az: m[1], fsId: m[2] ?? '', region: m[3] ?? '', suffix: m[4] ?? '' }
}

/** The DNS name for a file system; the `{az}.` part goes when the zone is unknown. */
export function formatEfsDnsName(format: string, name: EfsDnsName): string {
  const fmt = name.az === undefined ? format.replace('{az}.', '') : format
  const values: Record<string, string> = {
    az: name.az ?? '',
    fs_id: name.fsId,
    region: name.region,
    dns_name_suffix: name.suffix,
  }
  return fmt.replace(/\{([a-z_]+)\}/g, (_, key: string) => values[key] ?? '')
}
