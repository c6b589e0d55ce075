// The chain under test in test/peers/chain-*: client -> nginx (fastcgi_pass, unbuffered,
// kept-alive) -> bridge (child process) -> test upstream. nginx stands in for the DLL: it
// sends the hop secret and a fixed REMOTE_USER as the IIS user.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startBridgeProcess, type BridgeProcess } from './bridge-process.js';
import { httpConf, startNginx, type RunningNginx } from './nginx.js';
import { startUpstream, type Upstream } from './upstream.js';

export const IIS_USER = 'CORP\\alice';

/** A loopback port nobody listens on (bound to port 0, then released): an upstream that is down. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Chain {
  readonly upstream: Upstream;
  readonly bridge: BridgeProcess;
  readonly nginx: RunningNginx;
  /** http://127.0.0.1:<nginx port> */
  readonly url: string;
  stop(): Promise<void>;
}

export interface ChainOptions {
  /** Overrides for the [bridge] section (upstream defaults to the test upstream). */
  bridge?: Record<string, string | number>;
  /**
   * nginx `fastcgi_buffering`. Off by default (streaming). nginx 1.22 in unbuffered mode ends
   * the client response as if complete when the FastCGI connection closes without
   * END_REQUEST; only its buffered mode reports it ("upstream prematurely closed") and cuts
   * the client connection, so truncation tests turn it on.
   */
  nginxBuffering?: boolean;
}

/** The server block: every request to the bridge, unbuffered both ways (`bridge` is nginxFastCgiHttp's upstream). */
export function nginxFastCgiServer(secret: string, buffering = false): string {
  return `
    client_max_body_size 0;
    location / {
      fastcgi_pass bridge;
      fastcgi_keep_conn on;
      fastcgi_request_buffering off;
      fastcgi_buffering ${buffering ? 'on' : 'off'};
      fastcgi_read_timeout 120s;
      fastcgi_param REQUEST_METHOD $request_method;
      fastcgi_param REQUEST_URI $request_uri;
      fastcgi_param QUERY_STRING $query_string;
      fastcgi_param CONTENT_TYPE $content_type;
      fastcgi_param CONTENT_LENGTH $content_length;
      fastcgi_param SCRIPT_NAME '';
      fastcgi_param PATH_INFO $uri;
      fastcgi_param SERVER_PROTOCOL $server_protocol;
      fastcgi_param SERVER_NAME $server_name;
      fastcgi_param SERVER_PORT $server_port;
      fastcgi_param REMOTE_ADDR $remote_addr;
      fastcgi_param REMOTE_PORT $remote_port;
      fastcgi_param HTTPS $https if_not_empty;
      fastcgi_param REMOTE_USER '${IIS_USER.replaceAll('\\', '\\\\')}';
      fastcgi_param GATEWAY_INTERFACE CGI/1.1;
      fastcgi_param KALLITHEA_ISAPI_SECRET ${secret};
    }`;
}

export function nginxFastCgiHttp(socket: string): string {
  return `upstream bridge { server unix:${socket}; keepalive 64; }`;
}

export async function startChain(options: ChainOptions = {}): Promise<Chain> {
  const dir = mkdtempSync(join(tmpdir(), 'chain-'));
  const upstream = await startUpstream();
  let bridge: BridgeProcess | undefined;
  try {
    bridge = await startBridgeProcess({
      dir,
      bridge: { upstream: upstream.origin, headers_timeout: 2, shutdown_timeout: 5, ...options.bridge },
    });
    const running = bridge;
    const nginx = await startNginx({
      conf: ({ port, dir: nginxDir }) =>
        httpConf({
          port,
          dir: nginxDir,
          http: nginxFastCgiHttp(running.socket),
          server: nginxFastCgiServer(running.secret, options.nginxBuffering ?? false),
        }),
    });
    return {
      upstream,
      bridge: running,
      nginx,
      url: `http://127.0.0.1:${nginx.port}`,
      async stop() {
        await nginx.stop();
        await running.stop();
        await upstream.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await bridge?.stop();
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface CurlResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs curl (a real HTTP client) and collects its output. */
export function curl(args: string[], stdin?: NodeJS.ReadableStream): Promise<CurlResult> {
  return new Promise((resolve) => {
    const child = spawn('curl', ['-sS', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    if (stdin === undefined) child.stdin.end();
    else stdin.pipe(child.stdin);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** What `chainPerSuite()` hands a describe block; filled in by its before hook. */
export interface RunningChain {
  chain: Chain;
}

/** Mocha hooks: one chain started before a describe block's first test, stopped after its last. */
export function chainPerSuite(options: ChainOptions = {}): RunningChain {
  const running = {} as RunningChain;
  before(async () => {
    running.chain = await startChain(options);
  });
  after(async () => {
    await running.chain?.stop();
  });
  return running;
}

/**
 * Runs cgi-fcgi against the bridge's socket with exactly these params as its environment (it
 * sends its environment as PARAMS) and no body; resolves with its exit code and stdout.
 */
export function cgiFcgi(
  socket: string,
  params: Record<string, string>,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('cgi-fcgi', ['-bind', '-connect', socket], {
      env: params,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    child.stdin.end();
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
    child.on('close', (code) => resolve({ code, stdout }));
  });
}
