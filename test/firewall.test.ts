// efs-home firewall against the real kernel: rules loaded into network
// namespaces the test creates, connections tried as root and as nobody,
// with both iptables backends and both address families.

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../src/cli/efs-home.js'
import { writeConfig } from './fixtures/config.js'
import { runMain } from './fixtures/in-process.js'
import { createNetns, type Netns } from './fixtures/netns.js'
import { runCommand, spawnReady } from './fixtures/processes.js'
import { EFS_HOME_BIN, MAP_GEN_BIN, ROOT } from './fixtures/run.js'
import { scratchDir } from './fixtures/scratch.js'
import { skipWithout } from './fixtures/kernel.js'
import { AS_NOBODY, nobodyCopies } from './fixtures/as-nobody.js'

const GOLDEN = join(ROOT, 'test/golden/firewall')

t.test('rendered rules match the golden files', async (t) => {
  for (const name of readdirSync(GOLDEN)) {
    const dir = join(GOLDEN, name)
    const out = scratchDir(t)
    const config = join(dir, 'efs-home.conf')
    const r = await runMain(main, ['firewall', 'render', '--source', '/nonexistent', '--output-dir', out], config)
    t.equal(r.code, 0, `${name}: ${r.err}`)
    for (const file of readdirSync(dir).filter((f) => f.startsWith('efs-home.rules'))) {
      t.equal(readFileSync(join(out, file), 'utf8').split(config).join('CONFIG'), readFileSync(join(dir, file), 'utf8'), `${name}/${file}`)
    }
    t.same(
      readdirSync(out).sort(),
      readdirSync(dir)
        .filter((f) => f.startsWith('efs-home.rules'))
        .sort(),
      `${name}: the families configured`,
    )
  }
})

function sh(ns: Netns, command: string[]): string {
  // A clean environment: the test runner's NODE_OPTIONS must not reach processes run as nobody.
  return execFileSync(ns.exec[0]!, [...ns.exec.slice(1), ...command], { encoding: 'utf8', env: { PATH: process.env.PATH } })
}

/** The filter table without comments and packet counters: what must stay byte for byte as it was. */
function saved(ns: Netns, save: string): string {
  return sh(ns, [save, '-t', 'filter'])
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
    .join('\n')
}

// The probe runs as nobody too: from a copy nobody can read, made once for this file.
let probeCopy: string | undefined

function probe(ns: Netns, as: 'root' | 'nobody', proto: 'tcp' | 'udp', host: string, port: number): string {
  probeCopy ??= nobodyCopies(t, 'probe.mjs')[0]!
  const user = as === 'nobody' ? AS_NOBODY : []
  // env -u: the test runner adds its own instrumentation to every node it starts.
  return sh(ns, [...user, 'env', '-u', 'NODE_OPTIONS', process.execPath, probeCopy, proto, host, String(port)]).trim()
}

const PROXY_PORT = 300
const AGENT_PORT = 249

/** efs-home run inside the namespace as a boot unit would run it, with our /etc/hosts. */
function efsHome(ns: Netns, config: string, hosts: string, args: string[], env: NodeJS.ProcessEnv = {}, bin = EFS_HOME_BIN) {
  const inside = [
    '/usr/bin/unshare',
    '-m',
    '--propagation',
    'private',
    '/usr/bin/bash',
    '-c',
    'mount --bind "$0" /etc/hosts && exec "$@"',
    hosts,
    process.execPath,
    bin,
    ...args,
  ]
  return runCommand(ns.exec[0]!, [...ns.exec.slice(1), ...inside], { PATH: process.env.PATH, EFS_HOME_CONFIG: config, ...env })
}

for (const backend of ['nft', 'legacy'] as const) {
  t.test(`${backend}: only root reaches EFS, the proxy ports and the agent; apply is idempotent; remove restores`, async (t) => {
    if (skipWithout(t, 'netns', 'mountns', 'ipv6', `owner-${backend}`)) return
    const ns = createNetns(t, `fw${backend.slice(0, 3)}`)
    const [save4, save6, ipt4, ipt6] = [
      `iptables-${backend}-save`,
      `ip6tables-${backend}-save`,
      `iptables-${backend}`,
      `ip6tables-${backend}`,
    ]
    // Someone else's rules, which must survive everything we do.
    sh(ns, [ipt4, '-A', 'OUTPUT', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT'])
    sh(ns, [ipt4, '-N', 'SITE-RULES'])
    sh(ns, [ipt4, '-A', 'SITE-RULES', '-d', '192.0.2.1', '-j', 'DROP'])
    sh(ns, [ipt6, '-A', 'OUTPUT', '-p', 'udp', '--dport', '9999', '-j', 'ACCEPT'])
    const before = { v4: saved(ns, save4), v6: saved(ns, save6) }

    const listeners = [
      'tcp:127.0.0.2:2049',
      'tcp:127.0.0.2:111',
      'udp:127.0.0.2:111',
      'tcp:::1:2049',
      'tcp:127.0.0.3:2049',
      `tcp:127.0.0.1:${PROXY_PORT}`,
      `tcp:127.0.0.1:${AGENT_PORT}`,
      'tcp:127.0.0.2:8080',
      'tcp:127.0.0.4:2049',
    ]
    await spawnReady(t, 'the listeners', [...ns.exec, process.execPath, join(ROOT, 'test/fixtures/listen.mjs'), ...listeners])

    const dir = scratchDir(t)
    const hosts = join(dir, 'hosts')
    writeFileSync(hosts, '127.0.0.1 localhost\n::1 localhost\n127.0.0.3 efs-by-name\n')
    const { file: config } = writeConfig(
      t,
      `[ldap]\nuri = ldap://127.0.0.1:1\nbase = dc=x\n[home]\nagent_port = ${AGENT_PORT}\n[efs]\nport_range = ${PROXY_PORT}-${PROXY_PORT + 10}\n[firewall]\nbackend = ${backend}\n` +
        '[server "efs-a"]\ntype = efs\nmount_target_ip = 127.0.0.2\n[server "efs-v6"]\ntype = efs\nmount_target_ip = ::1\n[server "efs-by-name"]\ntype = efs\n',
    )
    const applied = await efsHome(ns, config, hosts, ['firewall', 'apply', '--source', '/nonexistent'])
    t.equal(applied.code, 0, applied.stderr)
    t.match(applied.stdout, /IPv4: EFS-HOME loaded, 7 rules; IPv6: EFS-HOME loaded, 4 rules/)

    const expect: [string, 'tcp' | 'udp', string, number, string, string][] = [
      ['EFS 2049', 'tcp', '127.0.0.2', 2049, 'open', 'refused'],
      ['EFS by name 2049', 'tcp', '127.0.0.3', 2049, 'open', 'refused'],
      ['EFS IPv6 2049', 'tcp', '::1', 2049, 'open', 'refused'],
      ['proxy port', 'tcp', '127.0.0.1', PROXY_PORT, 'open', 'refused'],
      ['lookup agent port', 'tcp', '127.0.0.1', AGENT_PORT, 'open', 'refused'],
      ['RPC 111/tcp', 'tcp', '127.0.0.2', 111, 'refused', 'refused'],
      ['RPC 111/udp', 'udp', '127.0.0.2', 111, 'refused', 'refused'],
      ['another port on the EFS address', 'tcp', '127.0.0.2', 8080, 'open', 'open'],
      // nfs_scope = all (the default): a mount target no name led to, in another zone, say.
      ['2049 on an address efs-home does not know', 'tcp', '127.0.0.4', 2049, 'open', 'refused'],
    ]
    for (const [what, proto, host, port, root, nobody] of expect) {
      t.equal(probe(ns, 'root', proto, host, port), root, `${what}: root ${root}`)
      t.equal(probe(ns, 'nobody', proto, host, port), nobody, `${what}: nobody ${nobody}`)
    }

    const once = { v4: saved(ns, save4), v6: saved(ns, save6) }
    for (let i = 0; i < 9; i++) t.equal((await efsHome(ns, config, hosts, ['firewall', 'apply', '--source', '/nonexistent'])).code, 0)
    t.same({ v4: saved(ns, save4), v6: saved(ns, save6) }, once, 'ten applies leave the ruleset as the first did')

    t.match(await efsHome(ns, config, hosts, ['firewall', 'check', '--source', '/nonexistent']), {
      code: 0,
      stdout: /in step: IPv4 7 rules, IPv6 4 rules/,
    })
    sh(ns, [ipt4, '-D', 'EFS-HOME', '1'])
    sh(ns, [ipt6, '-A', 'OUTPUT', '-j', 'EFS-HOME'])
    const drift = await efsHome(ns, config, hosts, ['firewall', 'check', '--source', '/nonexistent'])
    t.equal(drift.code, 1, 'drift found')
    t.match(
      drift.stdout,
      /^IPv4: \+-A EFS-HOME -p tcp -m tcp --dport 2049 -m owner --uid-owner 1-4294967294 -j REJECT --reject-with tcp-reset$/m,
    )
    t.match(drift.stdout, /^IPv6: OUTPUT jumps to EFS-HOME 2 times, expected once$/m)
    t.equal((await efsHome(ns, config, hosts, ['firewall', 'apply', '--source', '/nonexistent'])).code, 0)
    t.same({ v4: saved(ns, save4), v6: saved(ns, save6) }, once, 'apply repairs the chain and the jump')

    // A baseline rule inserted ahead of our jump lets nobody past it: check and doctor say so, apply puts the jump first again.
    sh(ns, [ipt4, '-I', 'OUTPUT', '1', '-o', 'lo', '-j', 'ACCEPT'])
    t.equal(probe(ns, 'nobody', 'tcp', '127.0.0.2', 2049), 'open', 'the rule ahead of ours opens the hole')
    const ahead = await efsHome(ns, config, hosts, ['firewall', 'check', '--source', '/nonexistent'])
    t.equal(ahead.code, 1, 'check fails')
    t.match(
      ahead.stdout,
      /^IPv4: 1 OUTPUT rule\(s\) come before the jump to EFS-HOME and may let traffic past it \(first: -A OUTPUT -o lo -j ACCEPT\)$/m,
    )
    const doctor = await efsHome(ns, config, hosts, ['doctor', '--source', '/nonexistent', '--json'])
    t.match(
      (JSON.parse(doctor.stdout) as { check: string; ok: boolean; detail: string }[]).find((c) => c.check === 'firewall'),
      { ok: false, detail: /come before the jump to EFS-HOME/ },
    )
    t.equal((await efsHome(ns, config, hosts, ['firewall', 'apply', '--source', '/nonexistent'])).code, 0)
    t.equal(sh(ns, [ipt4, '-S', 'OUTPUT']).split('\n')[1], '-A OUTPUT -j EFS-HOME', 'our jump is first again')
    t.equal(probe(ns, 'nobody', 'tcp', '127.0.0.2', 2049), 'refused', 'and the hole is closed')
    t.match(await efsHome(ns, config, hosts, ['firewall', 'check', '--source', '/nonexistent']), { code: 0 })
    sh(ns, [ipt4, '-D', 'OUTPUT', '-o', 'lo', '-j', 'ACCEPT'])

    t.match(await efsHome(ns, config, hosts, ['firewall', 'remove']), { code: 0, stdout: /removed chain EFS-HOME/ })
    t.same({ v4: saved(ns, save4), v6: saved(ns, save6) }, before, 'remove leaves the rest exactly as it was')
    t.match(await efsHome(ns, config, hosts, ['firewall', 'remove']), { code: 0, stdout: /nothing to remove/ })
    t.equal(probe(ns, 'nobody', 'tcp', '127.0.0.2', 2049), 'open', 'and the rules are gone')
  })
}

t.test('IPv6 failing after IPv4 loaded: IPv4 stays loaded (never fewer rules for a failure), IPv6 as it was', async (t) => {
  if (skipWithout(t, 'netns', 'mountns', 'owner-nft')) return
  const ns = createNetns(t, 'fwrb')
  const before6 = saved(ns, 'ip6tables-nft-save')
  const dir = scratchDir(t)
  const hosts = join(dir, 'hosts')
  writeFileSync(hosts, '127.0.0.1 localhost\n')
  // A broken ip6tables-nft-restore, first in that command's PATH only.
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'ip6tables-nft-restore'), '#!/bin/sh\necho "ip6tables-restore: line 7 failed" >&2\nexit 1\n')
  chmodSync(join(bin, 'ip6tables-nft-restore'), 0o755)
  const { file: config } = writeConfig(
    t,
    '[ldap]\nuri = ldap://127.0.0.1:1\nbase = dc=x\n[firewall]\nbackend = nft\naddresses = 127.0.0.2 ::1\n',
  )
  const r = await efsHome(ns, config, hosts, ['firewall', 'apply', '--source', '/nonexistent'], { PATH: `${bin}:${process.env.PATH}` })
  t.equal(r.code, 2)
  t.match(r.stdout, /^IPv4: EFS-HOME loaded, \d+ rules\n$/)
  t.match(
    r.stderr,
    /^efs-home: firewall apply: IPv6: ip6tables-nft-restore --noflush -w 5: ip6tables-restore: line 7 failed; the IPv6 rules are as they were\n$/,
  )
  t.match(
    saved(ns, 'iptables-nft-save'),
    /^-A OUTPUT -j EFS-HOME\n[\s\S]*^-A EFS-HOME -p tcp -m tcp --dport 2049 -m owner/m,
    'IPv4 is loaded and jumped to',
  )
  t.equal(saved(ns, 'ip6tables-nft-save'), before6, 'IPv6 is as it was')
})

t.test('without the iptables binaries: a clear error', async (t) => {
  const { file: config } = writeConfig(t, '[ldap]\nuri = ldap://127.0.0.1:1\nbase = dc=x\n[firewall]\naddresses = 127.0.0.2\n')
  if (skipWithout(t, 'netns', 'mountns')) return
  const ns = createNetns(t, 'fwnobin')
  const hosts = join(scratchDir(t), 'hosts')
  writeFileSync(hosts, '127.0.0.1 localhost\n')
  const r = await efsHome(ns, config, hosts, ['firewall', 'apply', '--source', '/nonexistent'], { PATH: '/usr/bin' })
  t.equal(r.code, 2)
  t.match(
    r.stderr,
    /^efs-home: firewall apply: IPv4: iptables-restore --noflush -w 5: not found: install the iptables package; the IPv4 rules are as they were\nefs-home: firewall apply: IPv6: ip6tables-restore --noflush -w 5: not found: install the iptables package; the IPv6 rules are as they were\n$/,
  )
})

t.test('efs-map-gen --firewall protects an EFS server as soon as auto_static.cfg names it', async (t) => {
  if (skipWithout(t, 'netns', 'mountns', 'owner-nft')) return
  const ns = createNetns(t, 'fwmg')
  const dir = scratchDir(t)
  const hosts = join(dir, 'hosts')
  writeFileSync(hosts, '127.0.0.1 localhost\n127.0.0.9 nw-syd-efs7\n')
  const { file: config } = writeConfig(
    t,
    '[ldap]\nuri = ldap://127.0.0.1:1\nbase = dc=x\n[efs]\ntls = false\nhost_pattern = ^nw-syd-efs\n[firewall]\nbackend = nft\nipv6 = false\n',
  )
  const source = join(dir, 'auto_static.cfg')
  writeFileSync(source, 'kamen/1\n')
  const args = ['--source', source, '--output', join(dir, 'auto.static'), '--firewall']
  t.match(await efsHome(ns, config, hosts, args, {}, MAP_GEN_BIN), { code: 0, stdout: /IPv4: EFS-HOME loaded, 3 rules/ })
  t.notMatch(saved(ns, 'iptables-nft-save'), '127.0.0.9')
  writeFileSync(source, 'kamen/1\nnw-syd-efs7/1\n')
  t.match(await efsHome(ns, config, hosts, args, {}, MAP_GEN_BIN), {
    code: 0,
    stdout: /written, 2 exports[\s\S]*IPv4: EFS-HOME loaded, 5 rules/,
  })
  t.match(saved(ns, 'iptables-nft-save'), '-A EFS-HOME -d 127.0.0.9/32 -p tcp -m tcp --dport 111 -j REJECT --reject-with tcp-reset')
})

t.test('no EFS servers: a valid chain closing the proxy ports; an unresolvable name is reported, the rest applied', async (t) => {
  if (skipWithout(t, 'netns', 'mountns', 'ipv6', 'owner-nft')) return
  const ns = createNetns(t, 'fwempty')
  const dir = scratchDir(t)
  const hosts = join(dir, 'hosts')
  writeFileSync(hosts, '127.0.0.1 localhost\n')
  const empty = writeConfig(t, '[ldap]\nuri = ldap://127.0.0.1:1\nbase = dc=x\n[firewall]\nbackend = nft\n[server "kamen"]\ntype = nfs\n')
  t.match(await efsHome(ns, empty.file, hosts, ['firewall', 'apply', '--source', '/nonexistent']), {
    code: 0,
    stdout: /IPv4: EFS-HOME loaded, 3 rules; IPv6: EFS-HOME loaded, 2 rules/,
    stderr: '',
  })
  t.match(await efsHome(ns, empty.file, hosts, ['firewall', 'check', '--source', '/nonexistent']), { code: 0 })

  const missing = writeConfig(
    t,
    '[ldap]\nuri = ldap://127.0.0.1:1\nbase = dc=x\n[firewall]\nbackend = nft\naddresses = 127.0.0.2\n[server "efs-gone.example.edu"]\ntype = efs\n',
  )
  const r = await efsHome(ns, missing.file, hosts, ['firewall', 'apply', '--source', '/nonexistent'])
  t.equal(r.code, 1, 'reported through the exit status')
  t.match(r.stderr, /^efs-home: firewall: efs-gone\.example\.edu did not resolve \(.*\); its addresses are not protected\n$/)
  t.match(saved(ns, 'iptables-nft-save'), '-A EFS-HOME -d 127.0.0.2/32 -p tcp -m tcp --dport 111', 'what did resolve is applied')
})
