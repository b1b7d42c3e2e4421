// The files a rollout manages on a host, rendered from its inputs by one
// piece of code, so the ansible role and the cfengine policy write the same
// bytes. Nothing is written unless every file renders and the config loads.

import { chmodSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { type Config, HOME_MOUNT_POINT, parseConfig } from '../config/load.js'
import { allTrees, masterMapName } from '../lookup/tree.js'
import { OPTIONS, SERVER_OPTIONS, TREE_OPTIONS } from '../config/options.js'
import { EfsHomeError } from '../errors.js'
import { diffLines } from '../util/diff-lines.js'
import { parseStaticCfg } from '../mapgen/static-cfg.js'
import { writeFileAtomic } from '../util/atomic-write.js'
import { packageFile } from '../util/package-files.js'
import { inLayout, type Layout, systemFiles } from '../release/layout.js'
import { shippedTemplate } from '../util/template.js'
import type { RolloutInputs } from './inputs.js'

export interface ManagedFile {
  /** Path on the host, absolute. */
  readonly path: string
  readonly mode: number
  readonly content: string
  /** Never shown in a diff. */
  readonly secret: boolean
}

const CONFIG_PATH = '/etc/efs-home/efs-home.conf'
const SECRET_PATH = '/etc/efs-home/ldap-bind.secret'

const template = (name: string) => shippedTemplate('templates', name)

/** A value as the INI file needs it: quoted (JSON) when ini would read a comment or trim it. */
function iniValue(value: string): string {
  return /[;#"'\\]|^\s|\s$/.test(value) ? JSON.stringify(value) : value
}

/** Known keys in the order the option table declares them, then the rest (which the loader refuses). */
function ordered(keys: Readonly<Record<string, string>>, known: readonly string[]): { key: string; value: string }[] {
  const names = [
    ...known.filter((k) => k in keys),
    ...Object.keys(keys)
      .filter((k) => !known.includes(k))
      .sort(),
  ]
  return names.map((key) => ({ key, value: iniValue(keys[key] ?? '') }))
}

function renderConfig(inputs: RolloutInputs): string {
  const settings: Record<string, Record<string, string>> = { ...inputs.settings }
  if (inputs.bindPassword !== undefined) {
    if (settings.ldap?.bind_password_file !== undefined)
      throw new EfsHomeError('CONFIG', 'rollout inputs: give bind_password or settings.ldap.bind_password_file, not both')
    settings.ldap = { ...settings.ldap, bind_password_file: SECRET_PATH }
  }
  const known = Object.keys(OPTIONS)
  const sectionNames = [
    ...known.filter((s) => s in settings),
    ...Object.keys(settings)
      .filter((s) => !known.includes(s))
      .sort(),
  ]
  const serverKeys = Object.keys(SERVER_OPTIONS)
  const treeKeys = Object.keys(TREE_OPTIONS)
  return template('efs-home.conf.hbs')({
    sections: sectionNames.map((name) => ({
      name,
      keys: ordered(settings[name] ?? {}, Object.keys((OPTIONS as Record<string, object>)[name] ?? {})),
    })),
    servers: Object.keys(inputs.servers)
      .sort()
      .map((name) => ({ name, keys: ordered(inputs.servers[name] ?? {}, serverKeys) })),
    trees: Object.keys(inputs.trees)
      .sort()
      .map((name) => ({ name, keys: ordered(inputs.trees[name] ?? {}, treeKeys) })),
  })
}

/** The master map snippet of each declared tree, like maps/auto.master.d/home.autofs for /home. */
function treeSnippets(config: Config, layout: Layout): ManagedFile[] {
  return allTrees(config)
    .filter((tree) => tree.mountPoint !== HOME_MOUNT_POINT)
    .map((tree) => ({
      path: `/etc/auto.master.d/${masterMapName(tree)}`,
      mode: 0o644,
      content: inLayout(layout, template('tree.autofs.hbs')({ mountPoint: tree.mountPoint, timeout: tree.timeout })),
      secret: false,
    }))
}

export interface Rendered {
  readonly files: readonly ManagedFile[]
  /** Files an earlier rollout wrote that this layout does without: removed, if they are still ours. */
  readonly retired: readonly string[]
}

/** Every file a rollout manages for `layout` (the way efs-home is installed on the host). */
export function managedFiles(inputs: RolloutInputs, layout: Layout): Rendered {
  const config = renderConfig(inputs)
  const loaded = parseConfig(CONFIG_PATH, config) // a config the tools would refuse is never rolled out
  const staticCfg = template('auto_static.cfg.hbs')({ exports: inputs.exports })
  parseStaticCfg('/etc/auto_static.cfg', staticCfg)
  const shipped = (path: string, ...from: string[]) => ({
    path,
    mode: 0o644,
    content: inLayout(layout, readFileSync(packageFile(...from), 'utf8')),
    secret: false,
  })
  const files = [
    { path: CONFIG_PATH, mode: 0o644, content: config, secret: false },
    ...(inputs.bindPassword === undefined ? [] : [{ path: SECRET_PATH, mode: 0o600, content: `${inputs.bindPassword}\n`, secret: true }]),
    { path: '/etc/auto_static.cfg', mode: 0o644, content: staticCfg, secret: false },
    shipped('/etc/auto.master.d/home.autofs', 'maps', 'auto.master.d', 'home.autofs'),
    shipped('/etc/auto.master.d/static.autofs', 'maps', 'auto.master.d', 'static.autofs'),
    ...treeSnippets(loaded, layout),
    shipped('/etc/systemd/system/autofs.service.d/efs-home.conf', 'templates', 'autofs.service.d', 'static.conf'),
  ]
  // Beside a tarball the rollout installs the units, the udev rule (udevd notices a changed rules file by
  // itself) and the trust anchor; the package carries its own, which copies left in /etc would override.
  const beside = systemFiles('tarball')
  if (layout === 'package') return { files, retired: beside.map((f) => f.path) }
  return {
    files: [
      ...files,
      shipped('/etc/efs-home/efs-ca.pem', 'templates', 'efs-ca.pem'),
      ...beside.map((f) => shipped(f.path, 'templates', f.template)),
    ],
    retired: [],
  }
}

function current(file: string): { content: string | undefined; mode: number | undefined } {
  try {
    return { content: readFileSync(file, 'utf8'), mode: statSync(file).mode & 0o777 }
  } catch {
    return { content: undefined, mode: undefined }
  }
}

/** Whether a file a rollout once wrote at `path` is still as efs-home wrote it: its first line names it. */
function stillOurs(content: string | undefined, path: string): boolean {
  return content?.startsWith(`# ${path} — efs-home`) === true
}

/** Writes the files that differ under `root` and removes the retired ones; returns their paths and, with `diff`, what changed. */
export function applyFiles(root: string, rendered: Rendered, options: { check: boolean }): { changed: string[]; diff: string[] } {
  const changed: string[] = []
  const diff: string[] = []
  for (const f of rendered.files) {
    const target = join(root, f.path)
    const now = current(target)
    if (now.content === f.content && now.mode === f.mode) continue
    changed.push(f.path)
    if (f.secret) diff.push(`${f.path}: (secret, not shown) would be written`)
    else if (now.content !== f.content) diff.push(`--- ${f.path}`, ...diffLines(now.content?.split('\n') ?? [], f.content.split('\n')))
    else diff.push(`${f.path}: mode ${now.mode?.toString(8)} -> ${f.mode.toString(8)}`)
    if (options.check) continue
    if (now.content === f.content) chmodSync(target, f.mode)
    else writeFileAtomic(target, f.content, f.mode)
  }
  for (const path of rendered.retired) {
    const target = join(root, path)
    // A file whose first line is not efs-home's is the site's own: left alone.
    if (!stillOurs(current(target).content, path)) continue
    changed.push(path)
    diff.push(`${path}: removed (the Debian package provides its own)`)
    if (options.check) continue
    rmSync(target)
    for (const link of enablingLinks(root, path)) rmSync(link)
  }
  return { changed, diff }
}

/**
 * The links `systemctl enable` made to a unit file in /etc/systemd/system
 * (in its *.wants and *.requires directories): once the file goes they
 * would dangle, and `systemctl enable` of the package's unit would take
 * them for its own and leave them.
 */
function enablingLinks(root: string, unitPath: string): string[] {
  const dir = dirname(unitPath)
  if (dir !== '/etc/systemd/system') return []
  let entries: string[]
  try {
    entries = readdirSync(join(root, dir)).filter((d) => /\.(wants|requires)$/.test(d))
  } catch {
    return []
  }
  return entries
    .map((d) => join(root, dir, d, basename(unitPath)))
    .filter((link) => {
      try {
        return lstatSync(link).isSymbolicLink() && readlinkSync(link) === unitPath
      } catch {
        return false
      }
    })
}
