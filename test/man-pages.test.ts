// The manual pages npm run build writes (dist/man) are what the commands
// and the option table say now, and man(1) renders each without a warning.

import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { OPTIONS, SERVER_OPTIONS, TREE_OPTIONS } from '../src/config/options.js'
import { buildManPages } from '../src/doc/build-man.js'
import { roff } from '../src/doc/man-pages.js'
import { runCommand } from './fixtures/processes.js'
import { ROOT } from './fixtures/run.js'

const MAN_DIR = join(ROOT, 'dist', 'man')
const PAGES = ['efs-home.8', 'efs-home-map.8', 'efs-map-gen.8', 'efs-home.conf.5']

t.test('the built pages are the commands’ --help and the option table as they are now', async (t) => {
  t.same(readdirSync(MAN_DIR).sort(), [...PAGES].sort())
  const built = (file: string) => readFileSync(join(MAN_DIR, file), 'utf8')
  const date = /^\.TH \S+ \d "([\d-]+)"/.exec(built('efs-home.8'))?.[1] ?? ''
  for (const page of buildManPages(date)) t.equal(built(page.file), page.text, `${page.file} is up to date (npm run build)`)
})

t.test('efs-home.conf(5) has every option with its default and meaning', async (t) => {
  const page = readFileSync(join(MAN_DIR, 'efs-home.conf.5'), 'utf8')
  for (const table of [...Object.values(OPTIONS), SERVER_OPTIONS, TREE_OPTIONS]) {
    for (const [key, spec] of Object.entries(table)) {
      t.match(page, `\n.B ${roff(key)}`, key)
      t.ok(page.includes(`\n${roff(spec.description)}\n`), `${key}: its meaning`)
    }
  }
})

t.test('man renders each page without a warning', async (t) => {
  for (const file of PAGES) {
    const r = await runCommand('man', ['--warnings', '-l', join(MAN_DIR, file)], {
      PATH: process.env.PATH,
      MANWIDTH: '80',
      MANPAGER: 'cat',
      PAGER: 'cat',
    })
    t.equal(r.code, 0, file)
    t.equal(r.stderr, '', `${file}: no warnings`)
    t.match(r.stdout, /^EFS-(HOME|MAP)/, `${file}: a page`)
  }
})
