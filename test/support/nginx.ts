// Starts a real nginx for a test and stops it: the config is written into a fresh temp
// directory (which also holds the pid file, logs and temp files) and nginx runs in the
// foreground as a child process. Used as a FastCGI client of the bridge (test/peers) and
// in front of the whole chain.
//
//   const nginx = await startNginx({ conf: ({ port, dir }) => httpConf({ port, dir, server: '...' }) });
//   ... fetch(`http://127.0.0.1:${nginx.port}/`) ...
//   await nginx.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NginxContext {
  /** The port nginx must listen on (127.0.0.1). */
  port: number;
  /** The temp directory nginx runs in (-p); put sockets and files here. */
  dir: string;
}

export interface NginxOptions {
  /** The whole nginx.conf. httpConf() writes the usual frame around a server block. */
  conf: (context: NginxContext) => string;
  /** The nginx binary (default: nginx on PATH, else /usr/sbin/nginx). */
  binary?: string;
}

export interface RunningNginx {
  port: number;
  dir: string;
  /** What nginx wrote to stderr so far (error_log stderr). */
  stderr(): string;
  stop(): Promise<void>;
}

/** A free loopback port: bound to port 0 and released (nginx itself cannot take port 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * nginx.conf with the boilerplate a test needs: one worker in the foreground, every path
 * inside `dir`, `user root` when run as root (else the workers, as nobody, could not reach a
 * 0600 socket), and the given text inside `server { listen 127.0.0.1:<port>; ... }`.
 */
export function httpConf(options: NginxContext & { server: string; http?: string }): string {
  const { dir, port } = options;
  const asRoot = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${asRoot}worker_processes 1;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  ${options.http ?? ''}
  server {
    listen 127.0.0.1:${port};
    ${options.server}
  }
}
`;
}

async function startOnce(options: NginxOptions): Promise<RunningNginx | 'port-taken'> {
  const dir = mkdtempSync(join(tmpdir(), 'nginx-test-'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), options.conf({ port, dir }));
  const binary = options.binary ?? 'nginx';
  const child: ChildProcess = spawn(
    binary,
    ['-p', dir, '-c', 'nginx.conf', '-g', 'daemon off; error_log stderr;'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` } },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.once('error', (error) => (stderr += String(error)));

  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  // Ready when the port accepts; failed if nginx exits first.
  while (!(await canConnect(port))) {
    if (exited) {
      cleanup();
      if (stderr.includes('Address already in use')) return 'port-taken';
      throw new Error(`nginx did not start:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    port,
    dir,
    stderr: () => stderr,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await exit;
      }
      cleanup();
    },
  };
}

export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  // Another process may take the free port between our check and nginx's bind: retry.
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = await startOnce(options);
    if (started !== 'port-taken') return started;
  }
  throw new Error('nginx: no free port after 5 attempts');
}
