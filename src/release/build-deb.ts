// node dist/src/release/build-deb.js TARBALL OUT_DIR: the Debian package,
// efs-home_<version>_<arch>.deb, from the npm release tarball (the built
// code and the bundled production dependencies) and a Node.js LTS runtime,
// with Debian's own dpkg-deb and nothing from the network: the runtime is
// the npm registry's official platform package, which .ci/setup put in
// npm's cache, pinned in package.json (efsHome.runtime) and checked against
// its sha512 here. Debian 12's own nodejs is 18, and efs-home needs 20 or
// later: every entry point and unit of the package runs the bundled one.

import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'
import { packageFile } from '../util/package-files.js'
import { PACKAGE_LIB, PACKAGE_NODE, packagePaths, systemFiles } from './layout.js'

interface Runtime {
  readonly package: string
  readonly version: string
  readonly integrity: string
}

interface PackageJson {
  readonly version: string
  readonly description: string
  readonly efsHome: { readonly runtime: Record<string, Runtime> }
}

function run(command: string, args: string[], cwd?: string): string {
  return execFileSync(command, args, { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'pipe'] })
}

function write(root: string, path: string, content: string | Buffer, mode = 0o644): void {
  const file = join(root, path)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, content)
  chmodSync(file, mode)
}

/** The pinned runtime's node binary and licence, from npm's cache, its sha512 checked. */
function unpackRuntime(runtime: Runtime, into: string): void {
  const work = mkdtempSync(join(tmpdir(), 'efs-home-runtime-'))
  try {
    run('npm', ['pack', '--offline', '--silent', `${runtime.package}@${runtime.version}`, '--pack-destination', work])
    const [tgz] = readdirSync(work).filter((f) => f.endsWith('.tgz'))
    if (tgz === undefined) throw new Error(`npm pack gave no tarball for ${runtime.package}`)
    const digest = `sha512-${createHash('sha512')
      .update(readFileSync(join(work, tgz)))
      .digest('base64')}`
    if (digest !== runtime.integrity) throw new Error(`${tgz}: sha512 ${digest} is not the pinned ${runtime.integrity}`)
    run('tar', ['-xzf', join(work, tgz), '-C', work, 'package/bin/node', 'package/LICENSE'])
    mkdirSync(join(into, 'bin'), { recursive: true })
    write(into, 'bin/node', readFileSync(join(work, 'package', 'bin', 'node')), 0o755)
    write(into, 'LICENSE', readFileSync(join(work, 'package', 'LICENSE')))
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

function control(pkg: PackageJson, arch: string, installedKb: number): string {
  return [
    'Package: efs-home',
    `Version: ${pkg.version}`,
    `Architecture: ${arch}`,
    'Maintainer: efs-home developers <efs-home@example.edu>',
    `Installed-Size: ${installedKb}`,
    // The versions of Debian 12 it was tested with.
    'Depends: autofs (>= 5.1.8), nfs-common (>= 1:2.6.2), iptables (>= 1.8.9), bash (>= 5.2), libc6 (>= 2.28)',
    'Recommends: systemd',
    'Section: admin',
    'Priority: optional',
    `Description: ${pkg.description.slice(0, 72)}`,
    ' efs-home gives a Linux fleet automounted home directories on Amazon EFS',
    " and on classic NFS servers, driven by the site's LDAP directory: the",
    ' autofs program map efs-home-map, a TLS proxy per EFS file system',
    ' (encryption in transit, IAM, access points), a host firewall that keeps',
    ' users away from EFS, and efs-map-gen for a static map. It bundles its',
    ' own Node.js runtime under /usr/lib/efs-home/node.',
    '',
  ].join('\n')
}

const POSTINST = `#!/bin/sh
# Nothing is enabled or started here: the firewall, the agent and autofs
# wait until the site has configured /etc/efs-home/efs-home.conf.
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
`

const POSTRM = `#!/bin/sh
set -e
if [ "$1" = purge ]; then
	rm -rf /var/cache/efs-home /var/lib/efs-home /run/efs-home
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
`

const PRERM = `#!/bin/sh
# The agent runs this package's code: stop it before the code goes.
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ] && command -v deb-systemd-invoke >/dev/null; then
	deb-systemd-invoke stop efs-home-agent.service >/dev/null || true
fi
`

const CONFIG = `# /etc/efs-home/efs-home.conf — efs-home: see efs-home.conf(5) for every
# option, and /usr/share/doc/efs-home/README.md.gz. Set your directory here,
# check with \`efs-home config check\` and \`efs-home doctor\`, then enable:
#   cp ${PACKAGE_LIB}/maps/auto.master.d/home.autofs /etc/auto.master.d/   (with the path /usr/sbin/efs-home-map)
#   systemctl enable --now efs-home-firewall efs-home-agent; systemctl reload autofs
[ldap]
uri = ldap://ldap.example.edu
base = ou=People,dc=example,dc=edu
`

function copyright(): string {
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: efs-home

Files: *
Copyright: 2026 efs-home developers
License: ISC

Files: usr/lib/efs-home/node/*
Copyright: Node.js contributors and others
License: MIT
 See ${PACKAGE_LIB}/node/LICENSE for Node.js and the licences of what it bundles.

Files: usr/lib/efs-home/node_modules/*
Copyright: their authors
License: various
 Each package's licence is in its directory under ${PACKAGE_LIB}/node_modules.

License: ISC
 Permission to use, copy, modify, and/or distribute this software for any
 purpose with or without fee is hereby granted, provided that the above
 copyright notice and this permission notice appear in all copies.
 .
 THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY
 SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION
 OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN
 CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
`
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    return e.isDirectory() ? files(path) : e.isFile() ? [path] : []
  })
}

/**
 * What Debian expects of the bundled code: no `#!/usr/bin/env node`
 * programs (that would find Debian's nodejs, or none: the package's entry
 * points run the bundled runtime with the script as an argument), no linter
 * configs, and no executable bit on a file that is not a program.
 */
function tidyModules(lib: string): void {
  for (const file of files(lib)) {
    if (/\/\.(eslintrc|npmignore|travis\.yml|editorconfig)[^/]*$/.test(file)) {
      rmSync(file)
      continue
    }
    if (file.endsWith('/node/bin/node')) continue
    const text = readFileSync(file)
    const shebang = text.subarray(0, 2).toString() === '#!'
    const nodeScript = shebang && /^#! *\/usr\/bin\/env node\b/.test(text.subarray(0, 32).toString())
    // An empty first line instead: the source maps' line numbers stay right.
    if (nodeScript) writeFileSync(file, text.subarray(text.indexOf(10)))
    if ((nodeScript || !shebang) && (statSync(file).mode & 0o111) !== 0) chmodSync(file, 0o644)
  }
}

export function buildDeb(tarball: string, outDir: string): string {
  const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as PackageJson
  const arch = run('dpkg', ['--print-architecture']).trim()
  const runtime = pkg.efsHome.runtime[arch]
  if (runtime === undefined) throw new Error(`no Node.js runtime pinned for ${arch} (package.json efsHome.runtime)`)
  const root = mkdtempSync(join(tmpdir(), 'efs-home-deb-'))
  // The tree's top is the target's /: mkdtemp's 0700 would be installed on it.
  chmodSync(root, 0o755)
  try {
    const lib = join(root, PACKAGE_LIB)
    mkdirSync(lib, { recursive: true })
    run('tar', ['-xzf', tarball, '-C', lib, '--strip-components=1', '--no-same-owner'])
    unpackRuntime(runtime, join(lib, 'node'))
    tidyModules(lib)
    // Documentation goes where Debian keeps it, compressed.
    write(root, '/usr/share/doc/efs-home/README.md.gz', gzipSync(readFileSync(join(lib, 'README.md')), { level: 9 }))
    rmSync(join(lib, 'README.md'))
    write(root, '/usr/share/doc/efs-home/copyright', copyright())
    write(
      root,
      '/usr/share/doc/efs-home/changelog.gz',
      gzipSync(
        `efs-home (${pkg.version}) stable; urgency=medium\n\n  * Release ${pkg.version}.\n\n -- efs-home developers <efs-home@example.edu>  Wed, 02 Dec 2026 00:00:00 +0000\n`,
        { level: 9 },
      ),
    )
    for (const name of ['efs-home', 'efs-map-gen'])
      write(
        root,
        `/usr/sbin/${name}`,
        `#!/bin/sh\n# ${name}, on the Node.js runtime efs-home bundles.\nexec ${PACKAGE_NODE} ${PACKAGE_LIB}/dist/src/bin/${name}.js "$@"\n`,
        0o755,
      )
    symlinkSync(`../lib/efs-home/maps/efs-home-map`, join(root, 'usr/sbin/efs-home-map'))
    for (const { path, template } of systemFiles('package'))
      write(root, path, packagePaths(readFileSync(join(lib, 'templates', template), 'utf8')))
    for (const page of readdirSync(join(lib, 'dist', 'man')))
      write(root, `/usr/share/man/man${page.slice(-1)}/${page}.gz`, gzipSync(readFileSync(join(lib, 'dist', 'man', page)), { level: 9 }))
    write(root, '/etc/efs-home/efs-home.conf', CONFIG)
    write(root, '/etc/efs-home/efs-ca.pem', readFileSync(join(lib, 'templates', 'efs-ca.pem')))
    write(root, '/usr/share/lintian/overrides/efs-home', readFileSync(join(lib, 'templates', 'lintian-overrides'), 'utf8'))

    const all = files(root)
    const installedKb = Math.ceil(all.reduce((sum, f) => sum + statSync(f).size, 0) / 1024)
    write(root, 'DEBIAN/control', control(pkg, arch, installedKb))
    write(root, 'DEBIAN/conffiles', '/etc/efs-home/efs-home.conf\n/etc/efs-home/efs-ca.pem\n')
    write(root, 'DEBIAN/postinst', POSTINST, 0o755)
    write(root, 'DEBIAN/prerm', PRERM, 0o755)
    write(root, 'DEBIAN/postrm', POSTRM, 0o755)
    write(
      root,
      'DEBIAN/md5sums',
      all
        .map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(root, f)}`)
        .join('\n')
        .concat('\n'),
    )
    mkdirSync(outDir, { recursive: true })
    const deb = join(outDir, `efs-home_${pkg.version}_${arch}.deb`)
    // gzip, not xz: a third of the size of the tree either way, and seconds rather than a minute to build.
    run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', root, deb])
    return deb
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

const [tarball, outDir] = process.argv.slice(2)
if (tarball !== undefined && process.argv[1]?.endsWith('build-deb.js') === true) {
  process.stdout.write(`${buildDeb(tarball, outDir ?? '.')}\n`)
}
