// The per-user trees one program map serves: /home, from [ldap] attribute,
// and each [tree "MOUNT POINT"] a site declares (/web, …), from an attribute
// of its own or a path below the home. automount runs a program map with its
// working directory at the mount point it serves (lookup_program.c chdir()s
// to it before exec), so that is how a lookup knows its tree.

import { dirname, join } from 'node:path'
import { type Config, HOME_MOUNT_POINT } from '../config/load.js'
import type { MountOption } from '../mount/options.js'
import { ConfigError } from '../errors.js'

export interface Tree {
  readonly mountPoint: string
  /** The LDAP attribute holding the location ([ldap] attribute for /home). */
  readonly attribute: string
  /** Below the location the attribute gives, for a tree of sub_path. */
  readonly subPath: string | undefined
  /** Over the server's options. */
  readonly options: readonly MountOption[] | undefined
  /** automount's --timeout for its master map entry. */
  readonly timeout: number
  readonly cacheFile: string
}

export function homeTree(config: Config): Tree {
  return {
    mountPoint: HOME_MOUNT_POINT,
    attribute: config.ldap.attribute,
    subPath: undefined,
    options: undefined,
    timeout: 300,
    cacheFile: config.home.cache_file,
  }
}

/**
 * A mount point as part of a file name, one to one: /srv/www is srv-www and
 * /srv-www is srv%2dwww ('-' and '%' escaped before '/' becomes '-'), so two
 * trees never share a cache or a master map file.
 */
function fileNamePart(mountPoint: string): string {
  return mountPoint
    .slice(1)
    .replace(/[%-]/g, (c) => (c === '%' ? '%25' : '%2d'))
    .split('/')
    .join('-')
}

/** tree-web.json for /web, tree-srv-www.json for /srv/www, beside the home cache. */
function defaultCacheFile(config: Config, mountPoint: string): string {
  return join(dirname(config.home.cache_file), `tree-${fileNamePart(mountPoint)}.json`)
}

/** Refuses trees that would share a last-known-good cache: during an LDAP outage one tree's answers would be served in the other. */
export function checkTreeCaches(config: Config): void {
  const seen = new Map<string, string>()
  for (const tree of allTrees(config)) {
    const other = seen.get(tree.cacheFile)
    if (other !== undefined)
      throw new ConfigError(config.file, `cache_file ${tree.cacheFile} is also the cache of ${other}: each tree needs its own`, {
        section: `tree "${tree.mountPoint}"`,
        key: 'cache_file',
      })
    seen.set(tree.cacheFile, tree.mountPoint)
  }
}

/** Every tree, /home first. */
export function allTrees(config: Config): Tree[] {
  return [
    homeTree(config),
    ...[...config.trees].map(([mountPoint, t]) => ({
      mountPoint,
      attribute: t.attribute ?? config.ldap.attribute,
      subPath: t.sub_path,
      options: t.options,
      timeout: t.timeout,
      cacheFile: t.cache_file ?? defaultCacheFile(config, mountPoint),
    })),
  ]
}

/**
 * The tree whose mount point is `mountPoint`; /home for any other directory
 * (a map run by hand, or /home mounted elsewhere by the site's master map).
 */
export function treeAt(config: Config, mountPoint: string | undefined): Tree {
  const trees = allTrees(config)
  return trees.find((t) => t.mountPoint === mountPoint) ?? (trees[0] as Tree)
}

/** The tree named by `mountPoint`, which must be declared (efs-home lookup --tree). */
export function declaredTree(config: Config, mountPoint: string): Tree | undefined {
  return allTrees(config).find((t) => t.mountPoint === mountPoint.replace(/(.)\/+$/, '$1'))
}

/** The master map file of a tree: /etc/auto.master.d/efs-home-web.autofs for /web. */
export const masterMapName = (tree: Pick<Tree, 'mountPoint'>) => `efs-home-${fileNamePart(tree.mountPoint)}.autofs`
