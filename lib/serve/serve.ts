// serve: the whole path on one machine. Kallithea (gearbox) under supervision, a private
// kallithea-isapi.ini in spawn mode, and isapi-host loading the DLL with emulated Windows
// authentication, so that http://127.0.0.1:<port>/ behaves like IIS in front of Kallithea:
// browser -> isapi-host -> DLL -> bridge (started by the DLL) -> Kallithea.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { BridgeError } from '../bridge/errors.js';
import { kallitheaUpstream, prefixMismatch, readKallitheaIni } from '../config/kallithea-ini.js';
import { readUsersFile, type AuthOptions } from '../host/auth.js';
import { IsapiHost } from '../host/isapi-host.js';
import { normalizeVirtualDir } from '../host/options.js';
import { KallitheaProcess } from './kallithea-process.js';
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
  /** Kallithea's venv; default the venv folder beside my.ini, else gearbox on PATH. */
  venv?: string;
  /** The ISAPI extension; default this package's build-dll/Release build. */
  dll?: string;
  /** The DLL's log file; default in serve's temporary folder. */
  dllLog?: string;
  /** Lines for the operator (start-up, restarts, access log). */
  log: (line: string) => void;
  /** gearbox's own output. */
  kallitheaOutput?: (chunk: Buffer) => void;
}

export interface RunningServe {
  /** What to open: http://host:port/ or http://host:port/vdir/. */
  url: string;
  virtualDir: string;
  kallithea: KallitheaProcess;
  /** Emulated Windows users (names only). */
  windowsUsers: string[];
  dllLog: string;
  /** The answer of the first request through the whole path. */
  firstStatus: number;
  /** Stops the HTTP server, the extension (TerminateExtension stops the bridge), then Kallithea. */
  close(): Promise<void>;
}

function findGearbox(config: string, venv: string | undefined, cliPath: string | undefined): string {
  const bin = process.platform === 'win32' ? join('Scripts', 'gearbox.exe') : join('bin', 'gearbox');
  if (venv !== undefined) {
    const gearbox = join(resolve(venv), bin);
    if (!existsSync(gearbox)) {
      throw new BridgeError(
        'ERR_SERVE_OPTION',
        `--venv ${venv}: there is no ${gearbox}; give Kallithea's venv`,
      );
    }
    return gearbox;
  }
  const beside = join(dirname(config), 'venv', bin);
  if (existsSync(beside)) return beside;
  // config-create writes the venv's kallithea-cli into my.ini; gearbox sits next to it.
  if (cliPath !== undefined) {
    const nextToCli = join(dirname(cliPath), process.platform === 'win32' ? 'gearbox.exe' : 'gearbox');
    if (existsSync(nextToCli)) return nextToCli;
  }
  return 'gearbox';
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
  return fetch(url, { redirect: 'manual', headers: { Authorization: probe } }).then(
    async (response) => {
      await response.arrayBuffer();
      return response.status;
    },
    () => 0,
  );
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
  const gearbox = findGearbox(config, options.venv, typeof cliPath === 'string' ? cliPath : undefined);

  const kallithea = new KallitheaProcess({
    config,
    gearbox,
    origin: await kallitheaUpstream(config),
    output: options.kallitheaOutput,
  });
  kallithea.on('exited', (how: string) => options.log(`Kallithea exited (${how}); restarting it`));
  kallithea.on('restarted', (pid: number) => options.log(`Kallithea is back (pid ${pid})`));
  kallithea.on('restart-failed', (error: Error) =>
    options.log(`Kallithea did not come back: ${error.message}`),
  );
  kallithea.on('gave-up', (how: string) =>
    options.log(`Kallithea exited (${how}) too often within a minute; not restarting it again`),
  );
  options.log(`starting Kallithea: ${gearbox} serve -c ${config} (in ${dirname(config)})`);
  await kallithea.start();
  options.log(`Kallithea answers at ${kallithea.origin} (pid ${kallithea.pid})`);

  let ini: SpawnIni | undefined;
  let host: IsapiHost | undefined;
  let server: Server | undefined;
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
    await kallithea.stop();
    await ini?.remove();
  };
  try {
    ini = await writeSpawnIni({
      node: process.execPath,
      bridgeScript,
      kallitheaConfig: config,
      logFile: options.dllLog,
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
    server = createServer((req, res) => {
      if (prompt && promptForLogin(req, res, virtualDir)) return;
      running.handle(req, res);
    });
    const listenHost = options.host ?? '127.0.0.1';
    const port = await listen(server, options.port, listenHost);
    const shownHost = listenHost.includes(':') ? `[${listenHost}]` : listenHost;
    const url = `http://${shownHost}:${port}${virtualDir === '/' ? '/' : `${virtualDir}/`}`;
    const firstStatus = await firstRequest(url);
    return { url, virtualDir, kallithea, windowsUsers, dllLog: ini.logFile, firstStatus, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
