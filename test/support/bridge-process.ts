// Runs the bridge as a child process (`node bin/kallithea-isapi.js bridge ...`), as the DLL
// does, so tests can read its memory from /proc and stop it with a signal.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FastCgiTestClient, parseCgiResponse, type TestResponse } from './fastcgi-client.js';
import { startUpstream, type Upstream } from './upstream.js';

/** bin/kallithea-isapi.js, from dist/test/support/. */
export const CLI = fileURLToPath(new URL('../../../bin/kallithea-isapi.js', import.meta.url));

export interface BridgeProcessOptions {
  /** Folder for the ini and the socket. */
  dir: string;
  /** The [bridge] section's lines (without listen). */
  bridge: Record<string, string | number>;
  secret?: string;
  /** Hand the bridge a lifeline pipe at fd 3 (KALLITHEA_ISAPI_LIFELINE_FD=3), as the DLL does. */
  lifeline?: boolean;
  /** More environment for the child (e.g. NODE_OPTIONS). */
  env?: Record<string, string>;
  /** Another checkout's bin/kallithea-isapi.js (bench/bridge --compare); default: this one's. */
  cli?: string;
  /** Options for node itself (e.g. --cpu-prof, which NODE_OPTIONS does not take). */
  nodeArgs?: string[];
}

export interface BridgeProcess {
  readonly socket: string;
  readonly secret: string;
  readonly pid: number;
  /** What the bridge wrote to stderr so far (lifecycle lines, access log). */
  output(): string;
  /** A field of /proc/<pid>/status in KiB (VmHWM: peak resident set, VmRSS: current). */
  memoryKiB(field: 'VmHWM' | 'VmRSS'): number;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Closes our end of the lifeline pipe (only with options.lifeline). */
  cutLifeline(): void;
}

/** Whether a connect to the unix socket `path` succeeds. */
export function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startBridgeProcess(options: BridgeProcessOptions): Promise<BridgeProcess> {
  const secret = options.secret ?? randomBytes(16).toString('hex');
  const socket = join(options.dir, 'bridge.sock');
  const ini = join(options.dir, 'kallithea-isapi.ini');
  const lines = Object.entries(options.bridge).map(([key, value]) => `${key} = ${value}`);
  writeFileSync(ini, `[bridge]\n${lines.join('\n')}\n`);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      options.cli ?? CLI,
      'bridge',
      '--config',
      ini,
      '--listen',
      `unix:${socket}`,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe', ...(options.lifeline === true ? (['pipe'] as const) : [])],
      env: {
        ...process.env,
        KALLITHEA_ISAPI_SECRET: secret,
        ...(options.lifeline === true ? { KALLITHEA_ISAPI_LIFELINE_FD: '3' } : {}),
        ...options.env,
      },
    },
  );
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  while (!(await canConnect(socket))) {
    if (exitCode !== undefined) throw new Error(`the bridge exited with ${exitCode}:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const pid = child.pid as number;
  return {
    socket,
    secret,
    pid,
    output: () => output,
    memoryKiB(field) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      if (match === null) throw new Error(`no ${field} in /proc/${pid}/status`);
      return Number(match[1]);
    },
    async stop() {
      if (exitCode === undefined) child.kill('SIGTERM');
      return exited;
    },
    exited,
    cutLifeline() {
      const lifeline = child.stdio[3];
      if (lifeline === undefined || lifeline === null) throw new Error('started without a lifeline');
      lifeline.destroy();
    },
  };
}

/**
 * Sends one GET over FastCGI and resolves once `held` (the upstream) holds it, so the request
 * is in flight; `answer` is the bridge's response when it comes.
 */
export async function requestInFlight(
  bridge: BridgeProcess,
  held: { arrived(): Promise<void> },
): Promise<{ answer: Promise<TestResponse> }> {
  const client = await FastCgiTestClient.connect(`unix:${bridge.socket}`);
  const answer = client.request(
    { params: { REQUEST_METHOD: 'GET', UNENCODED_URL: '/held', SERVER_PROTOCOL: 'HTTP/1.1' } },
    bridge.secret,
  );
  await held.arrived();
  return { answer };
}

/** What `bridgePerSuite()` hands a describe block; filled in by its before hook. */
export interface SuiteBridge {
  bridge: BridgeProcess;
  upstream: Upstream;
}

/**
 * Mocha hooks: a bridge child forwarding to a fresh test upstream, started before a describe
 * block's first test and stopped (temp folder removed) after its last.
 */
export function bridgePerSuite(prefix: string, options: Pick<BridgeProcessOptions, 'env'> = {}): SuiteBridge {
  const suite = {} as SuiteBridge;
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    suite.upstream = await startUpstream();
    suite.bridge = await startBridgeProcess({ dir, bridge: { upstream: suite.upstream.origin }, ...options });
  });
  after(async () => {
    await suite.bridge?.stop();
    await suite.upstream?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return suite;
}

/** Sends a GET on a new connection and checks the bridge still answers it with 200. */
export async function assertServes(bridge: BridgeProcess, target = '/after'): Promise<void> {
  const client = await FastCgiTestClient.connect(`unix:${bridge.socket}`);
  try {
    const response = await client.request(
      { params: { REQUEST_METHOD: 'GET', REQUEST_URI: target, SERVER_PROTOCOL: 'HTTP/1.1' } },
      bridge.secret,
    );
    assert.ok(response.ended, `no END_REQUEST:\n${bridge.output()}`);
    assert.equal(parseCgiResponse(response.stdout).status, 200, bridge.output());
  } finally {
    client.close();
  }
}
