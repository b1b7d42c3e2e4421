// efs-home: the administrator's command. Each subcommand's module is
// imported only when that subcommand runs.

import { type Output, stdOutput } from './output.js'

export async function main(argv: readonly string[], out: Output = stdOutput): Promise<number> {
  // The proxy, its supervisor and the lookup agent run for months and are
  // started during a login: in the exact forms the lookups, the supervisor
  // and the systemd unit use, they skip loading yargs (some 20 MB and 200 ms).
  if (argv.length === 4 && argv[0] === 'proxy' && (argv[1] === 'run' || argv[1] === 'supervise') && argv[2] === '--fs') {
    return (await import('./commands/proxy.js')).proxyCommand(argv[1], argv[3], false, out)
  }
  if (argv.length === 2 && argv[0] === 'agent' && argv[1] === 'run') return (await import('./commands/agent.js')).agentCommand('run', false, out)
  const { default: yargs } = await import('yargs')
  let code = 0
  const run = (work: () => Promise<number>) => async () => {
    code = await work()
  }
  const parser = yargs([...argv])
    .scriptName('efs-home')
    .usage('$0 <command> [options]\n\nautofs home directories on Amazon EFS and classic NFS, driven by LDAP.')
    .command(
      'lookup <user>',
      'explain, step by step, how efs-home-map answers for USER',
      (y) => y.positional('user', { type: 'string', demandOption: true, describe: 'the key automount would pass' }).option('json', { type: 'boolean', default: false, describe: 'print the steps as JSON' }),
      async (args) => run(async () => (await import('./commands/lookup.js')).lookupCommand(String(args.user), args.json, out))(),
    )
    .command(
      'doctor [user]',
      'check config, LDAP, EFS addresses and TCP 2049, proxies, firewall and autofs; with USER, a lookup too',
      (y) =>
        y
          .positional('user', { type: 'string', describe: 'also look this user up end to end' })
          .option('source', { type: 'string', default: '/etc/auto_static.cfg', describe: 'also check the EFS servers listed here' })
          .option('json', { type: 'boolean', default: false, describe: 'print the checks as JSON' }),
      async (args) => run(async () => (await import('./commands/doctor.js')).doctorCommand(args.user, args.source, args.json, out))(),
    )
    .command('proxy <action> [fs]', 'the TLS proxy of an EFS file system (run, supervise, ensure, status, stop)', (y) =>
      y
        .positional('action', { choices: ['run', 'supervise', 'ensure', 'status', 'stop'] as const, demandOption: true, describe: 'run: the proxy in the foreground; supervise: run it and restart it when it dies; ensure: start it unless it is up, print its port; status; stop' })
        .positional('fs', { type: 'string', describe: 'file system id (fs-...); --fs ID works too' })
        .option('json', { type: 'boolean', default: false, describe: 'status as JSON' }),
      async (args) => run(async () => (await import('./commands/proxy.js')).proxyCommand(args.action, args.fs, args.json, out))(),
    )
    .command('agent <action>', 'the resident lookup agent that answers efs-home-map (run, status, stop)', (y) =>
      y
        .positional('action', { choices: ['run', 'status', 'stop'] as const, demandOption: true, describe: 'run: the agent in the foreground (lookups start it themselves); status; stop' })
        .option('json', { type: 'boolean', default: false, describe: 'status as JSON' }),
      async (args) => run(async () => (await import('./commands/agent.js')).agentCommand(args.action, args.json, out))(),
    )
    .command('firewall <action>', 'iptables rules that keep non-root processes away from EFS (render, apply, check, remove)', (y) =>
      y
        .positional('action', { choices: ['render', 'apply', 'check', 'remove'] as const, demandOption: true, describe: 'render: print the rules; apply: load them; check: compare with the live rules (exit 1 on drift); remove: take them out' })
        .option('source', { type: 'string', default: '/etc/auto_static.cfg', describe: 'also protect the EFS servers listed here (skipped if absent)' })
        .option('output-dir', { type: 'string', describe: 'render: write efs-home.rules.v4 and .v6 here instead of printing' }),
      async (args) => run(async () => (await import('./commands/firewall.js')).firewallCommand(args.action, { source: args.source, outputDir: args['output-dir'] }, out))(),
    )
    .command('rollout <action>', 'write the files the ansible role and the cfengine policy manage (render)', (y) =>
      y
        .positional('action', { choices: ['render'] as const, demandOption: true, describe: 'render: write the managed files from the inputs' })
        .option('vars', { type: 'string', demandOption: true, describe: 'the rollout inputs (JSON); /dev/stdin keeps a secret off the disk' })
        .option('root', { type: 'string', default: '/', describe: 'write under this directory instead of /' })
        .option('check', { type: 'boolean', default: false, describe: 'write nothing; report what would change' })
        .option('diff', { type: 'boolean', default: false, describe: 'show the changes (never a secret)' })
        .option('detailed-exitcodes', { type: 'boolean', default: false, describe: 'exit 2 when something changed' }),
      async (args) =>
        run(async () =>
          (await import('./commands/rollout.js')).renderCommand({ vars: args.vars, root: args.root, check: args.check, diff: args.diff, detailedExitcodes: args['detailed-exitcodes'] }, out),
        )(),
    )
    .command('config', 'check the config file or list its options', (y) =>
      y
        .command(
          'check',
          'validate the config file ($EFS_HOME_CONFIG or /etc/efs-home/efs-home.conf)',
          (c) => c,
          async () => run(async () => (await import('./commands/config.js')).configCheck(out))(),
        )
        .command(
          'options',
          'list every option with its default and meaning (Markdown)',
          (c) => c,
          async () => run(async () => (await import('./commands/config.js')).configOptions(out))(),
        )
        .demandCommand(1, 'config needs a subcommand: check or options'),
    )
    .demandCommand(1, 'a command is needed: see --help')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      out.err(`efs-home: ${msg ?? err?.message ?? 'failed'} (see efs-home --help)`)
      code = 2
    })
    .exitProcess(false)
  await parser.parseAsync()
  return code
}
