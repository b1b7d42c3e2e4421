// node dist/src/doc/build-man.js DIR [DATE]: writes the manual pages into
// DIR (npm run build: dist/man), from the commands' own --help and the
// option table. DATE (YYYY-MM-DD) defaults to SOURCE_DATE_EPOCH's, else today.

import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageFile } from '../util/package-files.js'
import { type CommandHelp, confPage, efsHomePage, type ManPage, mapGenPage, mapPage } from './man-pages.js'

function help(bin: string, args: string[]): string {
  // No config is read for --help; the environment is only what yargs needs.
  return execFileSync(process.execPath, [packageFile('dist', 'src', 'bin', bin), ...args, '--help'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  })
}

/** The commands a --help lists under "Commands:" (`efs-home proxy <action> [fs]` gives `proxy`). */
function listed(text: string, prefix: string): string[] {
  const at = text.indexOf('\nCommands:\n')
  if (at === -1) return []
  const names: string[] = []
  for (const line of text.slice(at + 11).split('\n')) {
    if (line.trim() === '') break
    const m = new RegExp(`^  ${prefix} ([a-z-]+)`).exec(line)
    if (m?.[1] !== undefined) names.push(m[1])
  }
  return names
}

/** Every command's help, depth first: `config`, then `config check`... */
function commandHelps(prefix: string[]): CommandHelp[] {
  const text = help('efs-home.js', prefix)
  const here = prefix.length === 0 ? [] : [{ command: `efs-home ${prefix.join(' ')}`, help: text }]
  return [...here, ...listed(text, ['efs-home', ...prefix].join(' ')).flatMap((name) => commandHelps([...prefix, name]))]
}

export function buildManPages(date: string): ManPage[] {
  const [top, ...commands] = [{ command: 'efs-home', help: help('efs-home.js', []) }, ...commandHelps([])]
  return [efsHomePage(date, top?.help ?? '', commands), mapGenPage(date, help('efs-map-gen.js', [])), mapPage(date), confPage(date)]
}

export function manDate(): string {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH)
  return new Date(Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : Date.now()).toISOString().slice(0, 10)
}

const [dir, date] = process.argv.slice(2)
if (dir !== undefined && process.argv[1]?.endsWith('build-man.js') === true) {
  mkdirSync(dir, { recursive: true })
  for (const page of buildManPages(date ?? manDate())) writeFileSync(join(dir, page.file), page.text)
}
