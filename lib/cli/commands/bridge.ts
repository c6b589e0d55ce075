// `kallithea-isapi bridge [--config FILE] [--listen ADDR]`: runs the bridge host until
// SIGTERM/SIGINT (or the lifeline's EOF), then stops accepting, lets requests in flight
// finish up to shutdown_timeout, and exits 0. The hop secret comes from the environment
// (KALLITHEA_ISAPI_SECRET or the file KALLITHEA_ISAPI_SECRET_FILE), never the command line.
import { readFile } from 'node:fs/promises';
import { readBridgeStart } from '../../config/kallithea-isapi-ini.js';
import { BridgeError } from '../../bridge/errors.js';
import { LIFELINE_ENV, lifelineFd, watchLifeline } from '../../bridge/lifeline.js';
import { startBridge } from '../../bridge/server.js';
import { parseCommandArgs } from '../command-args.js';

export const summary = 'run the bridge host (FastCGI responder in front of Kallithea)';

const HELP = `usage: kallithea-isapi bridge [--config FILE] [--listen ADDR]
  --config FILE   kallithea-isapi.ini (default: env KALLITHEA_ISAPI_INI, else built-in defaults)
  --listen ADDR   unix:/path.sock | tcp:127.0.0.1:PORT | pipe:\\\\.\\pipe\\NAME (overrides [bridge] listen)
environment: KALLITHEA_ISAPI_SECRET or KALLITHEA_ISAPI_SECRET_FILE (required),
             ${LIFELINE_ENV} (exit when this fd reads EOF)
`;

function say(line: string): void {
  process.stderr.write(`kallithea-isapi bridge: ${line}\n`);
}

/**
 * The hop secret, taken out of the environment as it is read: whatever the bridge starts
 * later (a Kallithea worker, a hook Kallithea runs) inherits process.env, and none of it
 * needs the secret to the DLL's hop.
 */
export async function readSecret(): Promise<string> {
  const direct = process.env.KALLITHEA_ISAPI_SECRET;
  const file = process.env.KALLITHEA_ISAPI_SECRET_FILE;
  delete process.env.KALLITHEA_ISAPI_SECRET;
  delete process.env.KALLITHEA_ISAPI_SECRET_FILE;
  if (direct !== undefined && direct !== '') return direct;
  if (file !== undefined && file !== '') {
    const secret = (await readFile(file, 'utf8')).trim();
    if (secret === '') throw new Error(`the secret file ${file} is empty`);
    return secret;
  }
  throw new Error('no hop secret: set KALLITHEA_ISAPI_SECRET or KALLITHEA_ISAPI_SECRET_FILE');
}

function describeReason(reason: unknown): string {
  if (!(reason instanceof Error)) return String(reason);
  const code = reason instanceof BridgeError ? `${reason.code}: ` : '';
  return `${code}${reason.stack ?? reason.message}`;
}

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    'bridge',
    args,
    { config: { type: 'string' }, listen: { type: 'string' } },
    HELP,
  );
  if (typeof values === 'number') return values;

  // A promise that rejects unobserved is a bug, but not a reason to cut every request in
  // flight (Node's default ends the process): say so loudly and go on serving.
  process.on('unhandledRejection', (reason) => {
    say(`unhandled promise rejection (a bug; still serving): ${describeReason(reason)}`);
  });
  let bridge;
  try {
    const { settings, status } = await readBridgeStart(
      values.config ?? (process.env.KALLITHEA_ISAPI_INI || undefined),
    );
    const listen = values.listen ?? settings.listen;
    if (listen === undefined) throw new Error('no listen address: give --listen or set listen in [bridge]');
    const fd = lifelineFd(process.env[LIFELINE_ENV]);
    bridge = await startBridge({ settings, status, listen, secret: await readSecret() });
    const to =
      settings.python === undefined
        ? settings.upstream
        : `${settings.workers} Kallithea workers (${settings.python}, ${settings.kallitheaConfig})`;
    say(`listening on ${bridge.address}, forwarding to ${to}`);
    const running = bridge;
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
      if (fd !== undefined) watchLifeline(fd, resolve);
    });
    const why = await stopped;
    // close() stops accepting at once; saying so after it means that whoever reads this line
    // (a supervisor, a test) finds the listener closed, not in the instant before.
    const closing = running.close();
    say(`${why}: stopping (in-flight requests get up to ${settings.shutdownTimeout} s)`);
    await closing;
    say('stopped');
    return 0;
  } catch (error) {
    const message = error instanceof BridgeError || error instanceof Error ? error.message : String(error);
    say(message);
    await bridge?.close();
    return 1;
  }
}
