// efs-home: the administrator's command. Each subcommand's module is
// imported only when that subcommand runs.

import type { Argv } from 'yargs'
import { EXIT, type Guard, runGuarded } from './exit.js'
import { type Output, stdOutput } from './output.js'

/** Runs a subcommand and keeps its exit status. */
type Dispatch = (name: string, work: () => Promise<number>, guard?: Guard) => Promise<void>

/** Commands that explain a lookup or a host: lookup and doctor. */
function explaining<T>(y: Argv<T>, dispatch: Dispatch, out: Output): Argv<T> {
  return y
    .command(
      'lookup <user>',
      'explain, step by step, how efs-home-map answers for USER',
      (y) =>
        y
          .positional('user', { type: 'string', demandOption: true, describe: 'the key automount would pass' })
          .option('tree', {
            type: 'string',
            default: '/home',
            describe: 'the mount point looked up in: /home, or a [tree "MOUNT POINT"] of the config',
          })
          .option('json', { type: 'boolean', default: false, describe: 'print the steps as JSON' }),
      (args) =>
        dispatch('lookup', async () =>
          (await import('./commands/lookup.js')).lookupCommand(String(args.user), { tree: args.tree, json: args.json }, out),
        ),
    )
    .command(
      'doctor [user]',
      'check config, LDAP, EFS addresses and TCP 2049, proxies, firewall and autofs; with USER, a lookup too',
      (y) =>
        y
          .positional('user', { type: 'string', describe: 'also look this user up end to end' })
          .option('source', { type: 'string', default: '/etc/auto_static.cfg', describe: 'also check the EFS servers listed here' })
          .option('json', { type: 'boolean', default: false, describe: 'print the checks as JSON' }),
      (args) =>
        dispatch('doctor', async () => (await import('./commands/doctor.js')).doctorCommand(args.user, args.source, args.json, out)),
    )
}

/** The long-running parts: the TLS proxy and the lookup agent. */
function services<T>(y: Argv<T>, dispatch: Dispatch, out: Output): Argv<T> {
  return y
    .command(
      'proxy <action> [fs]',
      'the TLS proxy of an EFS file system (run, supervise, ensure, status, stop, certificate)',
      (y) =>
        y
          .positional('action', {
            choices: ['run', 'supervise', 'ensure', 'status', 'stop', 'certificate'] as const,
            demandOption: true,
            describe:
              'run: the proxy in the foreground; supervise: run it and restart it when it dies; ensure: start it unless it is up, print its port; status; stop; certificate: sign the client certificate the proxy would present (IAM, access point) and show where the credentials came from',
          })
          .positional('fs', { type: 'string', describe: 'file system id (fs-...); --fs ID works too' })
          .option('json', { type: 'boolean', default: false, describe: 'status or certificate as JSON' })
          .option('pem', { type: 'boolean', default: false, describe: 'certificate: print it as PEM (for openssl x509 -text)' }),
      (args) =>
        dispatch(`proxy ${args.action}`, async () =>
          (await import('./commands/proxy.js')).proxyCommand(args.action, args.fs, { json: args.json, pem: args.pem }, out),
        ),
    )
    .command(
      'agent <action>',
      'the resident lookup agent that answers efs-home-map (run, status, stop)',
      (y) =>
        y
          .positional('action', {
            choices: ['run', 'status', 'stop'] as const,
            demandOption: true,
            describe:
              'run: the agent in the foreground (lookups start it themselves; efs-home-agent.service runs it --resident); status: whether it is up, and which map its answers went to; stop',
          })
          .option('resident', {
            type: 'boolean',
            default: false,
            describe: 'run: never exit for idleness, and take the port over from an agent a lookup started (systemd)',
          })
          .option('json', { type: 'boolean', default: false, describe: 'status as JSON' }),
      (args) =>
        dispatch(`agent ${args.action}`, async () =>
          (await import('./commands/agent.js')).agentCommand(args.action, { json: args.json, resident: args.resident }, out),
        ),
    )
}

/** What the rollout and administrators run: firewall, rollout, config. */
function administration<T>(y: Argv<T>, dispatch: Dispatch, out: Output): Argv<T> {
  return y
    .command(
      'firewall <action>',
      'iptables rules that keep non-root processes away from EFS (render, apply, check, remove)',
      (y) =>
        y
          .positional('action', {
            choices: ['render', 'apply', 'check', 'remove'] as const,
            demandOption: true,
            describe:
              'render: print the rules; apply: load them; check: compare with the live rules (exit 1 on drift); remove: take them out',
          })
          .option('source', {
            type: 'string',
            default: '/etc/auto_static.cfg',
            describe: 'also protect the EFS servers listed here (skipped if absent)',
          })
          .option('output-dir', { type: 'string', describe: 'render: write efs-home.rules.v4 and .v6 here instead of printing' }),
      (args) =>
        dispatch(`firewall ${args.action}`, async () =>
          (await import('./commands/firewall.js')).firewallCommand(
            args.action,
            { source: args.source, outputDir: args['output-dir'] },
            out,
          ),
        ),
    )
    .command(
      'rollout <action>',
      'write the files the ansible role and the cfengine policy manage (render)',
      (y) =>
        y
          .positional('action', {
            choices: ['render'] as const,
            demandOption: true,
            describe: 'render: write the managed files from the inputs',
          })
          .option('vars', {
            type: 'string',
            demandOption: true,
            describe: 'the rollout inputs (JSON); /dev/stdin keeps a secret off the disk',
          })
          .option('root', { type: 'string', default: '/', describe: 'write under this directory instead of /' })
          .option('layout', {
            choices: ['package', 'tarball'] as const,
            describe:
              'how efs-home is installed on the host: package (the Debian package: its units, udev rule and CA file are its own; /usr/sbin) or tarball (/opt and /usr/local); default: how this efs-home is installed',
          })
          .option('check', { type: 'boolean', default: false, describe: 'write nothing; report what would change' })
          .option('diff', { type: 'boolean', default: false, describe: 'show the changes (never a secret)' })
          .option('detailed-exitcodes', { type: 'boolean', default: false, describe: 'exit 2 when something changed' }),
      async (args) => {
        const render = {
          vars: args.vars,
          root: args.root,
          layout: args.layout,
          check: args.check,
          diff: args.diff,
          detailedExitcodes: args['detailed-exitcodes'],
        }
        const { renderCommand, renderGuard } = await import('./commands/rollout.js')
        await dispatch('rollout render', () => renderCommand(render, out), renderGuard(render))
      },
    )
    .command(
      'readahead <device>',
      "for udev: the read-ahead (KiB) of an NFS backing device if its mount is EFS ([efs] read_ahead × rsize); exit 1 to leave the device's alone",
      (y) => y.positional('device', { type: 'string', demandOption: true, describe: "the backing device, MAJOR:MINOR (udev's %k)" }),
      (args) => dispatch('readahead', async () => (await import('./commands/readahead.js')).readAheadCommand(args.device, out)),
    )
    .command('config', 'check the config file or list its options', (y) =>
      y
        .command(
          'check',
          'validate the config file ($EFS_HOME_CONFIG or /etc/efs-home/efs-home.conf)',
          (c) => c,
          () => dispatch('config check', async () => (await import('./commands/config.js')).configCheck(out)),
        )
        .command(
          'options',
          'list every option with its default and meaning (Markdown)',
          (c) => c,
          () => dispatch('config options', async () => (await import('./commands/config.js')).configOptions(out)),
        )
        .demandCommand(1, 'config needs a subcommand: check or options'),
    )
}

/** A command line yargs refused: reported, and nothing runs. */
class UsageError extends Error {}

export async function main(argv: readonly string[], out: Output = stdOutput): Promise<number> {
  // The proxy, its supervisor and the lookup agent run for months and are
  // started during a login: in the exact forms the lookups, the supervisor
  // and the systemd unit use, they skip loading yargs (some 20 MB and 200 ms).
  if (argv.length === 4 && argv[0] === 'proxy' && (argv[1] === 'run' || argv[1] === 'supervise') && argv[2] === '--fs') {
    const action = argv[1]
    const fsId = argv[3]
    return runGuarded(`efs-home: proxy ${action}`, out, async () =>
      (await import('./commands/proxy.js')).proxyCommand(action, fsId, { json: false, pem: false }, out),
    )
  }
  if (argv[0] === 'agent' && argv[1] === 'run' && (argv.length === 2 || (argv.length === 3 && argv[2] === '--resident'))) {
    const resident = argv.length === 3
    return runGuarded('efs-home: agent run', out, async () =>
      (await import('./commands/agent.js')).agentCommand('run', { json: false, resident }, out),
    )
  }
  const { default: yargs } = await import('yargs')
  let code: number = EXIT.ok
  // Every subcommand ends here: its status, or one line and the failure status for what it throws.
  const dispatch: Dispatch = async (name, work, guard) => {
    code = await runGuarded(`efs-home: ${name}`, out, work, guard)
  }
  const base = yargs([...argv])
    .scriptName('efs-home')
    .usage('$0 <command> [options]\n\nautofs home directories on Amazon EFS and classic NFS, driven by LDAP.')
  const parser = administration(services(explaining(base, dispatch, out), dispatch, out), dispatch, out)
  parser
    .demandCommand(1, 'a command is needed: see --help')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      // Thrown: yargs runs the command after a usage error its fail handler returns from.
      throw new UsageError(msg ?? err?.message ?? 'failed')
    })
    .exitProcess(false)
  try {
    await parser.parseAsync()
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    out.err(`efs-home: ${err.message} (see efs-home --help)`)
    return EXIT.failed
  }
  return code
}
