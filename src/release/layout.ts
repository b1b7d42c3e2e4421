// Where efs-home lives on a host, in either of the two ways it is installed:
// the release tarball unpacked in /opt with its commands linked into
// /usr/local (any Linux with Node.js), or the Debian package, with its own
// runtime under /usr/lib/efs-home and its commands in /usr/sbin. The shipped
// units, maps and rules name the tarball's paths; this makes them the
// package's, for the package itself and for what a rollout writes beside it.

import { packageFile } from '../util/package-files.js'

export type Layout = 'package' | 'tarball'

/** The Debian package's code, with its Node.js runtime. */
export const PACKAGE_LIB = '/usr/lib/efs-home'
export const PACKAGE_NODE = `${PACKAGE_LIB}/node/bin/node`
const PACKAGE_ENTRY = `${PACKAGE_LIB}/dist/src/bin/efs-home.js`

/** The layout of the efs-home this process runs from. */
export function installedLayout(): Layout {
  return packageFile() === PACKAGE_LIB ? 'package' : 'tarball'
}

/** Where the units and the udev rule efs-home ships go in each layout: written by a rollout beside a tarball, the package's own in it. */
const SYSTEM_DIRS: Record<Layout, { readonly units: string; readonly rules: string }> = {
  tarball: { units: '/etc/systemd/system', rules: '/etc/udev/rules.d' },
  package: { units: '/lib/systemd/system', rules: '/usr/lib/udev/rules.d' },
}

/** The units and the udev rule (templates/ names) and their paths in `layout`. */
export function systemFiles(layout: Layout): readonly { readonly path: string; readonly template: string }[] {
  const { units, rules } = SYSTEM_DIRS[layout]
  return [
    ...['efs-home-firewall.service', 'efs-home-proxy@.service', 'efs-home-agent.service'].map((unit) => ({
      path: `${units}/${unit}`,
      template: unit,
    })),
    // Named to run after nfs-common's 99-nfs.rules (nfsrahead).
    { path: `${rules}/99-zz-efs-home-readahead.rules`, template: 'efs-home-readahead.rules' },
  ]
}

/** A shipped file with the tarball's paths (/usr/local, `env node`) made the package's. */
export function packagePaths(text: string): string {
  return text
    .replace(/\/usr\/bin\/env node ((?:--[a-z-]+(?:=\S+)? )*)\/usr\/local\/bin\/efs-home/g, `${PACKAGE_NODE} $1${PACKAGE_ENTRY}`)
    .replace(/\/usr\/local\/s?bin\/(efs-home-map|efs-map-gen|efs-home)\b/g, '/usr/sbin/$1')
}

/** A shipped file as `layout` needs it. */
export function inLayout(layout: Layout, text: string): string {
  return layout === 'package' ? packagePaths(text) : text
}
