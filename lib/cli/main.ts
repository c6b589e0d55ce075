// The kallithea-isapi command: a table of subcommands, each in a file of its own under
// lib/cli/commands/ that exports `run(args)` and a one-line `summary`. Loaded lazily, so a
// command that needs the native addon does not load it for the others.
interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  bridge: () => import('./commands/bridge.js'),
  host: () => import('./commands/host.js'),
  check: () => import('./commands/check.js'),
  'configure-kallithea': () => import('./commands/configure-kallithea.js'),
  install: () => import('./commands/install.js'),
  uninstall: () => import('./commands/uninstall.js'),
  trace: () => import('./commands/trace.js'),
  serve: () => import('./commands/serve.js'),
  status: () => import('./commands/status.js'),
};

function usage(): string {
  const names = Object.keys(commands).sort();
  return (
    `usage: kallithea-isapi <command> [options]\ncommands: ${names.join(', ')}\n` +
    `run 'kallithea-isapi <command> --help' for a command's options\n`
  );
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    process.stderr.write(`kallithea-isapi: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const command = await load();
  return command.run(rest);
}
