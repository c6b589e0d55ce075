// `kallithea-isapi serve -c my.ini`: Kallithea behind the whole ISAPI path on this machine
// (isapi-host -> DLL -> bridge -> Kallithea), with emulated Windows logins, until Ctrl-C.
import { readKallitheaIsapiIni } from '../../config/kallithea-isapi-ini.js';
import { problemText } from '../../config/problems.js';
import { defaultUsersFile } from '../../serve/package-paths.js';
import { startServe, WINDOWS_DOMAIN, type RunningServe } from '../../serve/serve.js';
import { parseCommandArgs } from '../command-args.js';

export const summary = 'run Kallithea behind isapi-host, the DLL and the bridge on this machine';

const usage = `usage: kallithea-isapi serve -c my.ini [options]
  -c, --config FILE     Kallithea's my.ini (the workers run in its folder)
  --port N              port to listen on (default 8080; 0 = any, printed)
  --host ADDR           address to listen on (default 127.0.0.1)
  --virtualdir PATH     IIS application path (default /); my.ini needs the prefix filter for it
  --users FILE          emulated Windows users, user:password lines
                        (default: scripts/kallithea/windows-users.txt of this package)
  --no-users            no Windows logins: every request reaches Kallithea anonymously
  --allow-anonymous     requests without credentials pass anonymously instead of getting
                        the Windows login prompt (as IIS with anonymous access enabled)
  --venv DIR            Kallithea's venv (default: venv beside my.ini, else kallithea-cli's)
  --workers N           Kallithea worker processes (default: one per CPU, at least 2)
  --max-workers N       at most, extras started while hg/git streams hold workers
                        (default: 2 x workers)
  --worker-idle-timeout S  seconds an extra worker stays idle before it stops (default 60)
  --stream-priority P   a worker's OS priority while it serves an hg/git clone, pull or
                        push: below_normal (default; pages go first) or normal
  --tls-cert FILE       serve HTTPS with this PEM certificate (and --tls-key), as IIS with TLS
  --tls-key FILE        its PEM private key
  --dll FILE            the ISAPI extension (default: build-dll/Release of this package)
  --dll-log FILE        the DLL's log (default: a temporary file, printed)
  --isapi-ini FILE      take the bridge's user header ([bridge] user_header) from this
                        kallithea-isapi.ini, e.g. the secret one configure-kallithea wrote
  -q, --quiet           accepted for old scripts: Kallithea's own output goes to the DLL log
Ctrl-C or SIGTERM stops everything and exits 0.
`;

function instructions(running: RunningServe, allowAnonymous: boolean): string {
  const lines = [`kallithea-isapi serve: ready at ${running.url}`];
  if (running.windowsUsers.length > 0) {
    const users = running.windowsUsers.map((u) => `${WINDOWS_DOMAIN}\\${u}`).join(', ');
    lines.push(`  Windows logins (emulated with Basic auth against the users file): ${users}`);
    lines.push(
      allowAnonymous
        ? '  Requests without credentials pass anonymously (Kallithea shows its login form); a'
        : '  A browser gets a login prompt: give a Windows login (user:password from the users file);',
      '  a Windows login reaches Kallithea as that user, created on first sight, e.g.',
      `    curl -u ${running.windowsUsers[0]}:PASSWORD ${running.url}`,
    );
  } else {
    lines.push('  no Windows logins (--no-users): log in with Kallithea accounts on its login form');
  }
  lines.push(
    '  hg and git use Kallithea accounts (Basic credentials, passed through unchanged):',
    `    hg clone ${running.url.replace('://', '://USER@')}REPO`,
    `    git clone ${running.url.replace('://', '://USER@')}REPO`,
    `  DLL log: ${running.dllLog}`,
    '  Ctrl-C stops it.',
  );
  return lines.join('\n') + '\n';
}

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    'serve',
    args,
    {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      virtualdir: { type: 'string', default: '/' },
      users: { type: 'string' },
      'no-users': { type: 'boolean', default: false },
      'allow-anonymous': { type: 'boolean', default: false },
      venv: { type: 'string' },
      workers: { type: 'string' },
      'max-workers': { type: 'string' },
      'worker-idle-timeout': { type: 'string' },
      'stream-priority': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      dll: { type: 'string' },
      'dll-log': { type: 'string' },
      'isapi-ini': { type: 'string' },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
    usage,
  );
  if (typeof values === 'number') return values;
  if (values.config === undefined) {
    process.stderr.write(`kallithea-isapi serve: -c my.ini is required\n${usage}`);
    return 2;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`kallithea-isapi serve: --port must be a port number, got ${values.port}\n`);
    return 2;
  }
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 64)) {
    process.stderr.write(`kallithea-isapi serve: --workers must be 1 to 64, got ${values.workers}\n`);
    return 2;
  }
  const maxWorkers = values['max-workers'] === undefined ? undefined : Number(values['max-workers']);
  if (
    maxWorkers !== undefined &&
    (!Number.isInteger(maxWorkers) || maxWorkers < (workers ?? 1) || maxWorkers > 128)
  ) {
    process.stderr.write(
      `kallithea-isapi serve: --max-workers must be --workers to 128, got ${values['max-workers']}\n`,
    );
    return 2;
  }
  const idle = values['worker-idle-timeout'];
  const workerIdleTimeout = idle === undefined ? undefined : Number(idle);
  if (workerIdleTimeout !== undefined && !(workerIdleTimeout > 0 && workerIdleTimeout <= 86_400)) {
    process.stderr.write(
      `kallithea-isapi serve: --worker-idle-timeout must be seconds above 0, got ${idle}\n`,
    );
    return 2;
  }
  const streamPriority = values['stream-priority'];
  if (streamPriority !== undefined && streamPriority !== 'below_normal' && streamPriority !== 'normal') {
    process.stderr.write(
      `kallithea-isapi serve: --stream-priority must be below_normal or normal, got ${streamPriority}
`,
    );
    return 2;
  }
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if ((cert === undefined) !== (key === undefined)) {
    process.stderr.write('kallithea-isapi serve: give both --tls-cert and --tls-key, or neither\n');
    return 2;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  let userHeader: string | undefined;
  if (values['isapi-ini'] !== undefined) {
    const isapi = await readKallitheaIsapiIni(values['isapi-ini']);
    const problems = [
      ...isapi.fileProblems,
      ...isapi.bridge.problems.filter((p) => p.key === '[bridge] user_header'),
    ];
    if (problems.length > 0) {
      process.stderr.write(`kallithea-isapi serve: ${problems.map(problemText).join('\n')}\n`);
      return 2;
    }
    userHeader = isapi.bridge.settings.userHeader;
  }

  // A signal during start-up is remembered and acted on once start-up has settled.
  let stopRequested: (() => void) | undefined;
  let signalled = false;
  const onSignal = (): void => {
    if (signalled) {
      log('kallithea-isapi serve: second signal; still stopping (in-flight requests get up to 30 s)');
      return;
    }
    signalled = true;
    stopRequested?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let running: RunningServe;
  try {
    running = await startServe({
      config: values.config,
      port,
      host: values.host,
      virtualDir: values.virtualdir,
      allowAnonymous: values['allow-anonymous'],
      usersFile: values['no-users'] ? undefined : (values.users ?? defaultUsersFile()),
      venv: values.venv,
      workers,
      maxWorkers,
      workerIdleTimeout,
      streamPriority,
      ...(cert === undefined || key === undefined ? {} : { tls: { cert, key } }),
      dll: values.dll,
      dllLog: values['dll-log'],
      userHeader,
      log,
    });
  } catch (error) {
    log(`kallithea-isapi serve: ${(error as Error).message}`);
    return 1;
  }
  if (running.firstStatus === 0 || running.firstStatus >= 500) {
    log(
      `kallithea-isapi serve: warning: the first request through the path answered ` +
        `${running.firstStatus === 0 ? 'nothing' : running.firstStatus}; see the DLL log ${running.dllLog}`,
    );
  }
  process.stdout.write(instructions(running, values['allow-anonymous']));
  if (!signalled) await new Promise<void>((resolve) => (stopRequested = resolve));
  log(
    'kallithea-isapi serve: stopping (host, then the extension, which stops the bridge and its Kallithea workers)',
  );
  await running.close();
  log('kallithea-isapi serve: stopped');
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return 0;
}
