// The Windows chain under Wine, in the mocha process (Windows node.exe): an HTTP server on
// 127.0.0.1:0 -> IsapiHost with the Windows addon (KALLITHEA_ISAPI_HOST_ADDON) -> the
// Windows DLL (KALLITHEA_ISAPI_WIN_DLL), copied into a folder of its own with its ini ->
// the bridge the DLL spawns with this node.exe over a real named pipe -> an upstream.
// scripts/test-windows.sh builds the parts and sets the variables.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthOptions } from '../../../lib/host/auth.js';
import { startHost, repoRoot, type RunningHost } from '../../native/support/harness.js';
import { startUpstream, type Upstream } from '../../support/upstream.js';

/** The Windows DLL under test. */
export function windowsDll(): string {
  const dll = process.env['KALLITHEA_ISAPI_WIN_DLL'];
  if (dll === undefined || dll === '')
    throw new Error('KALLITHEA_ISAPI_WIN_DLL is not set: run scripts/test-windows.sh');
  return dll;
}

export interface WinStackOptions {
  /** Upstream origin for [bridge] upstream. */
  upstream: string;
  /** Extra lines for [isapi]. */
  isapi?: string[];
  /** The node the DLL starts (default: this node.exe). */
  node?: string;
  /** Name of the DLL's folder inside the temp folder (spaces, non-ASCII letters). */
  folder?: string;
  /** false: write no ini at all. */
  ini?: boolean;
  /** Called with the DLL's folder before the host loads the DLL (which reads its ini then). */
  prepare?: (dir: string) => void;
  /** isapi-host's stand-in for IIS authentication (default: anonymous). */
  auth?: AuthOptions;
}

export interface WinStack {
  /** The DLL's folder. */
  dir: string;
  running: RunningHost;
  url(path: string): string;
  /** The DLL's log so far ('' when there is none). */
  log(): string;
  /** pid of the bridge the DLL started last (from its log). */
  bridgePid(): number | undefined;
  /** Stops the server and the host (TerminateExtension), removes the folder. */
  stop(): Promise<void>;
}

export async function startWinStack(options: WinStackOptions): Promise<WinStack> {
  const base = mkdtempSync(join(tmpdir(), 'kallithea-isapi-win-'));
  const dir = join(base, options.folder ?? 'dll');
  mkdirSync(dir, { recursive: true });
  const dll = join(dir, 'kallithea_isapi.dll');
  copyFileSync(windowsDll(), dll);
  if (options.ini !== false) {
    const ini = [
      '[isapi]',
      `node = ${options.node ?? process.execPath}`,
      `bridge_script = ${join(repoRoot, 'bin', 'kallithea-isapi.js')}`,
      'startup_timeout = 60',
      ...(options.isapi ?? []),
      '[bridge]',
      `upstream = ${options.upstream}`,
      // Wine fails setKeepAlive on a connecting socket; a real Windows machine does not.
      'upstream_tcp_keepalive = off',
      '',
    ].join('\r\n');
    writeFileSync(join(dir, 'kallithea-isapi.ini'), ini);
  }
  options.prepare?.(dir);
  const running = await startHost('', { dll, verify: true, virtualDir: '/', auth: options.auth });
  const log = (): string => {
    try {
      return readFileSync(join(dir, 'kallithea_isapi.log'), 'utf8');
    } catch {
      return '';
    }
  };
  return {
    dir,
    running,
    url: (path) => running.url(path),
    log,
    bridgePid() {
      const last = [...log().matchAll(/bridge ready: pid (\d+)/g)].at(-1);
      return last === undefined ? undefined : Number(last[1]);
    },
    async stop() {
      await running.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Waits until the bridge the DLL started is ready (its log line), up to `ms`. */
export async function waitForBridge(stack: WinStack, ms = 30_000): Promise<number> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const pid = stack.bridgePid();
    if (pid !== undefined) return pid;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`bridge never became ready:\n${stack.log()}`);
}

/** Whether a Windows process with this pid still runs (OpenProcess through process.kill). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * For the tests of one describe(): the test upstream and a Windows stack in front of it,
 * started (the bridge ready) in before() and stopped in after(). Read the fields in tests.
 */
export function upstreamAndStack(): { readonly upstream: Upstream; readonly stack: WinStack } {
  const live = {} as { upstream: Upstream; stack: WinStack };
  before(async () => {
    live.upstream = await startUpstream();
    live.stack = await startWinStack({ upstream: live.upstream.origin });
    await waitForBridge(live.stack);
  });
  after(async () => {
    await live.stack?.stop();
    await live.upstream?.stop();
  });
  return live;
}
