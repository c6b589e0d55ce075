// The whole native path for e2e tests: HTTP client -> isapi-host (child process, verifier
// on) -> kallithea_isapi.so -> bridge (spawned by the DLL) -> an upstream on port 0.
// Everything is started by the test and stopped in its after hook.
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot, startHostProcess, type HostProcess } from '../../native/support/harness.js';
import { startUpstream, type Upstream } from '../../support/upstream.js';

/** The DLL under test: env KALLITHEA_ISAPI_DLL (the ASan build), else build-dll/Release. */
export function dllPath(): string {
  return process.env['KALLITHEA_ISAPI_DLL'] ?? join(repoRoot, 'build-dll', 'Release', 'kallithea_isapi.so');
}

/** Running the ASan/UBSan build (scripts/asan-dll.sh): memory figures then mean nothing. */
export const sanitized = process.env['KALLITHEA_ISAPI_ASAN_PRELOAD'] !== undefined;

export interface StackOptions {
  /** Upstream URL for [bridge] upstream. */
  upstream: string;
  /** Extra lines for [isapi]. */
  isapi?: string[];
  /** Extra lines after [bridge]: more [bridge] keys, or other sections ([status]). */
  ini?: string[];
  /** Replaces bridge_script (e.g. a script that never starts). */
  bridgeScript?: string;
  /** Extra host arguments (e.g. --auth basic:FILE). */
  hostArgs?: string[];
  /** The host's verifier mode (default on; benchmarks turn it off). */
  verify?: boolean;
}

export interface Stack {
  dir: string;
  host: HostProcess;
  url(path: string): string;
  /** The DLL's log so far. */
  log(): string;
  /** pid of the bridge the DLL started last (from its log). */
  bridgePid(): number | undefined;
  /** Threads, fds and VmRSS (KiB) of the host process. */
  usage(): { threads: number; fds: number; rssKiB: number; hwmKiB: number };
  violations(): string[];
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'kallithea-isapi-e2e-'));
  // The DLL finds kallithea-isapi.ini beside itself, so it gets its own folder.
  const dll = join(dir, 'kallithea_isapi.so');
  copyFileSync(dllPath(), dll);
  const ini = [
    '[isapi]',
    // scripts/tsan-dll.sh names a node that drops the preloaded sanitizer: the bridge is
    // not what it tests, and TSan in an uninstrumented node only slows it and adds noise.
    `node = ${process.env['KALLITHEA_ISAPI_BRIDGE_NODE'] ?? process.execPath}`,
    `bridge_script = ${options.bridgeScript ?? join(repoRoot, 'bin', 'kallithea-isapi.js')}`,
    'startup_timeout = 20',
    ...(options.isapi ?? []),
    '[bridge]',
    `upstream = ${options.upstream}`,
    ...(options.ini ?? []),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'kallithea-isapi.ini'), ini);
  const env: NodeJS.ProcessEnv = { KALLITHEA_ISAPI_INI: '' };
  if (process.env['KALLITHEA_ISAPI_ASAN_PRELOAD'] !== undefined)
    env['LD_PRELOAD'] = process.env['KALLITHEA_ISAPI_ASAN_PRELOAD'];
  const verify = options.verify === false ? [] : ['--verify'];
  const host = await startHostProcess(['--dll', dll, ...verify, ...(options.hostArgs ?? [])], env);
  const log = (): string => {
    try {
      return readFileSync(join(dir, 'kallithea_isapi.log'), 'utf8');
    } catch {
      return '';
    }
  };
  return {
    dir,
    host,
    url: (path) => `http://127.0.0.1:${host.port}${path}`,
    log,
    bridgePid() {
      const all = [...log().matchAll(/bridge ready: pid (\d+)/g)];
      const last = all.at(-1);
      return last === undefined ? undefined : Number(last[1]);
    },
    usage() {
      const pid = host.child.pid;
      const memory = host.memory();
      return {
        threads: readdirSync(`/proc/${pid}/task`).length,
        fds: readdirSync(`/proc/${pid}/fd`).length,
        rssKiB: memory.rssKiB,
        hwmKiB: memory.hwmKiB,
      };
    },
    violations: () =>
      host
        .stderr()
        .split('\n')
        .filter((l) => l.includes('VIOLATION')),
    async stop() {
      await host.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the bridge the DLL started accepts requests (its "ready" log line). */
export async function waitForBridge(stack: Stack, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (stack.bridgePid() !== undefined) return;
    await new Promise((done) => setTimeout(done, 25));
  }
  throw new Error(`bridge never became ready:\n${stack.log()}`);
}

/** What `stackOverUpstream()` hands a describe block; filled in by its before hook. */
export interface StackOverUpstream {
  upstream: Upstream;
  stack: Stack;
}

/**
 * Mocha hooks for the common case: a test upstream on port 0 and the whole stack in front
 * of it, ready (bridge started) before the first test and stopped after the last.
 */
export function stackOverUpstream(): StackOverUpstream {
  const running = {} as StackOverUpstream;
  before(async () => {
    running.upstream = await startUpstream();
    running.stack = await startStack({ upstream: `http://127.0.0.1:${running.upstream.port}` });
    await waitForBridge(running.stack);
  });
  after(async () => {
    await running.stack?.stop();
    await running.upstream?.stop();
  });
  return running;
}

/** A loopback port nothing listens on (an upstream that is down). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
