// auto.static from its handlebars template (templates/auto.static.hbs).

import { shippedTemplate } from '../util/template.js'
import type { StaticMapLine } from './static-map.js'

export interface StaticMapDocument {
  readonly output: string
  readonly source: string
  readonly fromLdap: boolean
  readonly lines: readonly StaticMapLine[]
}

export function renderStaticMap(doc: StaticMapDocument): string {
  const template = shippedTemplate('templates', 'auto.static.hbs')
  // Keys padded to one column, for the administrator reading it.
  const width = Math.max(0, ...doc.lines.map((l) => l.key.length))
  return template({ ...doc, lines: doc.lines.map((l) => ({ key: l.key.padEnd(width), entry: l.entry })) })
}

/** The entries of a rendered map as `key entry`, without comments, blank lines or column padding. */
export function mapEntries(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.trim().replace(/\s+/, ' '))
}

/** The key of a `key entry` line. */
export function entryKey(line: string): string {
  return line.split(' ', 1)[0] ?? ''
}
