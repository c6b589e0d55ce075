// serve: the whole path on one machine. A private kallithea-isapi.ini in spawn mode whose
// [bridge] names Kallithea's Python and my.ini, and isapi-host loading the DLL with emulated
// Windows authentication, so that http://127.0.0.1:<port>/ behaves like IIS in front of
// Kallithea: browser -> isapi-host -> DLL -> bridge (started by the DLL) -> the bridge's
// Kallithea workers. As on IIS, the extension owns the whole lifecycle: stopping it stops
// the bridge, which stops the workers.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer, request as httpsRequest } from 'node:https';
import { resolve } from 'node:path';
import { BridgeError } from '../bridge/errors.js';
import { defaultWorkers } from '../config/bridge-section.js';
import { prefixMismatch, readKallitheaIni } from '../config/kallithea-ini.js';
import { findKallitheaPython, kallitheaPythonCandidates } from '../config/kallithea-python.js';
import { readUsersFile, type AuthOptions } from '../host/auth.js';
import { acceptRawTargets, IsapiHost } from '../host/isapi-host.js';
import { normalizeVirtualDir } from '../host/options.js';
import { promptForLogin } from './login-prompt.js';
import { bridgeScript, defaultExtension } from './package-paths.js';
import { writeSpawnIni, type SpawnIni } from './spawn-ini.js';

/** The Windows domain isapi-host puts in front of emulated logins (CORP\alice). */
export const WINDOWS_DOMAIN = 'CORP';

export interface ServeOptions {
  /** Kallithea's my.ini. */
  config: string;
  port: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** IIS application path; default '/'. */
  virtualDir?: string;
  /** Emulated Windows users (user:password lines); none: every request is anonymous to IIS. */
  usersFile?: string;
  /**
   * Let requests without any credentials through anonymously (IIS with anonymous access on);
   * default: they get a Windows login prompt (login-prompt.ts).
   */
  allowAnonymous?: boolean;
  /** Kallithea's venv; default the venv folder beside my.ini, else the one kallithea-cli is in. */
  venv?: string;
  /** Serve HTTPS with this PEM certificate and key, as IIS with a TLS binding. */
  tls?: { cert: string; key: string };
  /** Kallithea worker processes; default one per CPU, at least 2. */
  workers?: number;
  /** Workers at most, extras included; default 2 x workers. */
  maxWorkers?: number | undefined;
  /** Seconds an extra worker stays idle before it stops; default 60. */
  workerIdleTimeout?: number | undefined;
  /** A worker's OS priority while it serves a long hg/git stream; default below_normal. */
  streamPriority?: 'below_normal' | 'normal' | undefined;
  /** How long Kallithea may take to answer the first request; default 180 s. */
  startTimeoutMs?: number;
  /** The ISAPI extension; default this package's build-dll/Release build. */
  dll?: string;
  /** The DLL's log file; default in serve's temporary folder. */
  dllLog?: string;
  /**
   * The header the bridge names the Windows user in; default X-Forwarded-User. After
   * configure-kallithea, the secret one of kallithea-isapi.ini.
   */
  userHeader?: string;
  /** Lines for the operator (start-up, restarts, access log). */
  log: (line: string) => void;
}

export interface RunningServe {
  /** What to open: http://host:port/ or http://host:port/vdir/. */
  url: string;
  virtualDir: string;
  /** The Python that runs the Kallithea workers. */
  python: string;
  /** Emulated Windows users (names only). */
  windowsUsers: string[];
  dllLog: string;
  /** The answer of the first request through the whole path. */
  firstStatus: number;
  /** Stops the HTTP server and the extension (TerminateExtension stops the bridge and its workers). */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolvePort(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/**
 * One request through the whole path, so the bridge is known to answer. It carries
 * credentials that are no Windows login, so the login prompt lets it through and the host
 * passes it on anonymously; Kallithea's web pages ignore Basic credentials.
 */
function firstRequest(url: string): Promise<number> {
  const probe = `Basic ${Buffer.from('kallithea-isapi-serve-probe:').toString('base64')}`;
  // Our own server on this machine: its certificate need not be one this Node trusts.
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(url, { headers: { Authorization: probe }, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** The first answer that is not 503 (the bridge says 503 + Retry-After until a worker is ready). */
async function firstAnswer(url: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await firstRequest(url);
    if (status !== 503 || Date.now() > deadline) return status;
    await new Promise((done) => setTimeout(done, 250));
  }
}

export async function startServe(options: ServeOptions): Promise<RunningServe> {
  const config = resolve(options.config);
  if (!existsSync(config)) {
    throw new BridgeError('ERR_SERVE_OPTION', `-c ${options.config}: no such file; give Kallithea's my.ini`);
  }
  const virtualDir = normalizeVirtualDir(options.virtualDir);
  const myIni = await readKallitheaIni(config, '-c');
  const mismatch = prefixMismatch(myIni.facts, virtualDir, config);
  const cliPath = myIni.sections['app:main']?.kallithea_cli_path;
  if (mismatch !== undefined) throw new BridgeError('ERR_SERVE_PREFIX', mismatch);
  const dll = resolve(options.dll ?? defaultExtension());
  if (!existsSync(dll)) {
    throw new BridgeError(
      'ERR_SERVE_OPTION',
      `the ISAPI extension ${dll} does not exist: build it with 'npm run build:dll' or give --dll`,
    );
  }
  const usersFile = options.usersFile === undefined ? undefined : resolve(options.usersFile);
  const windowsUsers = usersFile === undefined ? [] : Object.keys(readUsersFile(usersFile));
  const cli = typeof cliPath === 'string' ? cliPath : undefined;
  const python = findKallitheaPython(config, options.venv, cli);
  if (python === undefined) {
    const looked = kallitheaPythonCandidates(config, options.venv, cli).join(', ');
    throw new BridgeError(
      'ERR_SERVE_OPTION',
      `no Kallithea virtualenv found (looked for ${looked}): give it with --venv`,
    );
  }
  const workers = options.workers ?? defaultWorkers;
  options.log(`Kallithea: ${workers} workers of ${python} serving ${config}, run by the bridge`);

  let ini: SpawnIni | undefined;
  let host: IsapiHost | undefined;
  let server: Server | undefined;
  // isapi-host keeps the event loop alive until its close has drained (its 'closed' event).
  const close = async (): Promise<void> => {
    if (server !== undefined) {
      const closed = new Promise<void>((done) => server?.close(() => done()));
      server.closeIdleConnections();
      if (host !== undefined) await host.close();
      server.closeAllConnections();
      await closed;
    } else if (host !== undefined) {
      await host.close();
    }
    await ini?.remove();
  };
  try {
    ini = await writeSpawnIni({
      node: process.execPath,
      bridgeScript,
      kallitheaConfig: config,
      python,
      workers,
      maxWorkers: options.maxWorkers,
      workerIdleTimeout: options.workerIdleTimeout,
      streamPriority: options.streamPriority,
      logFile: options.dllLog,
      userHeader: options.userHeader,
    });
    // The DLL reads this in GetExtensionVersion; the bridge it starts inherits it too.
    process.env.KALLITHEA_ISAPI_INI = ini.file;
    const auth: AuthOptions =
      usersFile === undefined
        ? { mode: 'anonymous' }
        : { mode: 'basic', usersFile, domain: WINDOWS_DOMAIN, anonymousFallback: true };
    host = new IsapiHost({
      dll,
      virtualDir,
      auth,
      accessLog: (line) => options.log(line),
    });
    host.on('log', (line: string) => options.log(line));
    const running = host;
    const prompt = usersFile !== undefined && !(options.allowAnonymous ?? false);
    const handler: RequestListener = (req, res) => {
      if (prompt && promptForLogin(req, res, virtualDir)) return;
      running.handle(req, res);
    };
    const tls = options.tls;
    server =
      tls === undefined
        ? createServer(handler)
        : createTlsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler);
    acceptRawTargets(server);
    const listenHost = options.host ?? '127.0.0.1';
    const port = await listen(server, options.port, listenHost);
    const shownHost = listenHost.includes(':') ? `[${listenHost}]` : listenHost;
    const url = `${options.tls === undefined ? 'http' : 'https'}://${shownHost}:${port}${virtualDir === '/' ? '/' : `${virtualDir}/`}`;
    const firstStatus = await firstAnswer(url, options.startTimeoutMs ?? 180_000);
    return { url, virtualDir, python, windowsUsers, dllLog: ini.logFile, firstStatus, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
