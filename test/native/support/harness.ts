// What the isapi-host conformance tests share: where the fixture extensions are, an
// in-process host on a real HTTP server on port 0, raw-socket requests (to see the exact
// bytes on the wire), and a host run as a child process (for RSS).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  createServer,
  request,
  type Server,
  type IncomingHttpHeaders,
  type Agent,
  type RequestListener,
} from 'node:http';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acceptRawTargets, IsapiHost, type IsapiHostOptions } from '../../../lib/host/isapi-host.js';

/** The repository root (this file runs from dist/test/native/support). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** A fixture extension built by scripts/build-fixtures.sh (KALLITHEA_ISAPI_FIXTURES overrides the folder). */
export function fixture(name: string): string {
  const dir = process.env['KALLITHEA_ISAPI_FIXTURES'] ?? join(repoRoot, 'build-fixtures');
  return join(dir, `${name}.so`);
}

export interface RunningHost {
  host: IsapiHost;
  server: Server;
  port: number;
  accessLog: string[];
  url(path: string): string;
  stop(): Promise<void>;
}

/** An IsapiHost (verifier on unless said otherwise) behind a Node HTTP server on 127.0.0.1:0. */
export async function startHost(
  name: string,
  options: Partial<IsapiHostOptions> = {},
  serverFactory?: (handler: RequestListener) => Server,
): Promise<RunningHost> {
  const accessLog: string[] = [];
  const host = new IsapiHost({
    dll: fixture(name),
    virtualDir: '/kallithea',
    physicalPath: 'C:\\inetpub\\kallithea',
    verify: true,
    accessLog: (lines) => accessLog.push(...lines.split('\n')),
    ...options,
  });
  const handler: RequestListener = (q, s) => host.handle(q, s);
  const server = serverFactory !== undefined ? serverFactory(handler) : createServer(handler);
  acceptRawTargets(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let stopped = false;
  return {
    host,
    server,
    port,
    accessLog,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await host.close();
    },
  };
}

export interface SimpleResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request with Node's client (no keep-alive unless an agent is given). */
export function fetchBuffer(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer | string; agent?: Agent } = {},
): Promise<SimpleResponse> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      { method: init.method ?? 'GET', headers: init.headers, agent: init.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Sends raw bytes and collects every byte the server sends until it closes (or `until` matches). */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  until?: (received: Buffer) => boolean,
): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolvePromise(Buffer.concat(chunks));
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (until?.(Buffer.concat(chunks)) === true) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (e) => (finished ? undefined : reject(e)));
    socket.write(bytes);
  });
}

export interface HostProcess {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  /** VmHWM and VmRSS of the host process, in KiB. */
  memory(): { hwmKiB: number; rssKiB: number };
  stop(): Promise<void>;
}

/** `node bin/kallithea-isapi.js host ...` as a child process on a free port. */
export async function startHostProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<HostProcess> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'kallithea-isapi.js'), 'host', '--port', '0', ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
  });
  const port = await new Promise<number>((resolvePromise, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const match = /listening on https?:\/\/[^:]+:(\d+)/.exec(out);
      if (match !== null) resolvePromise(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`host exited with ${code}: ${stderr}`)));
  });
  return {
    child,
    port,
    stderr: () => stderr,
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const field = (name: string): number =>
        Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      return { hwmKiB: field('VmHWM'), rssKiB: field('VmRSS') };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Decodes the JSON the `variables` fixture answers with. */
export interface VariableReport {
  ecb: Record<string, string | number>;
  vars: Record<
    string,
    {
      probeOk: boolean;
      probeError: number;
      probeSize: number;
      ok: boolean;
      size?: number;
      hex?: string;
      error?: number;
    }
  >;
}

export function hexText(hex: string | number | undefined, encoding: BufferEncoding = 'latin1'): string {
  return Buffer.from(String(hex ?? ''), 'hex').toString(encoding);
}

/** A variable's value without its NUL (latin1 for ANSI, utf16le for UNICODE_). */
export function variableValue(report: VariableReport, name: string): string | undefined {
  const entry = report.vars[name];
  if (entry === undefined || !entry.ok) return undefined;
  const wide = name.toUpperCase().startsWith('UNICODE_');
  const bytes = Buffer.from(entry.hex ?? '', 'hex');
  return wide
    ? bytes.subarray(0, bytes.length - 2).toString('utf16le')
    : bytes.subarray(0, bytes.length - 1).toString('latin1');
}

/**
 * Polls a condition (every 10 ms, at most `tries` times); for state that settles after a
 * response. The default waits up to 20 s: a CI machine with two busy cores can take seconds
 * to settle what takes milliseconds here, and only the end state is asserted.
 */
export async function eventually(condition: () => boolean, tries = 2000): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (condition()) return true;
    await new Promise((done) => setTimeout(done, 10));
  }
  return condition();
}

/**
 * The environment for non-Node tools (curl, openssl): without the sanitizer runtimes that
 * scripts/asan-host.sh preloads for Node (curl hangs with libasan preloaded).
 */
export function toolEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['LD_PRELOAD'];
  return env;
}
