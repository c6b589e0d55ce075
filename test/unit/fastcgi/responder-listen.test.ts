// Listening on Unix sockets: mode 0600, a stale socket file replaced, a regular file or a
// live socket at the path refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';
import { echoHandler } from '../../support/fastcgi-echo-handler.js';

const SECRET = 'listen';

describe('FastCGI responder: listening on a Unix socket', () => {
  let dir: string;
  let servers: FastCgiServer[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fcgi-listen-'));
    servers = [];
  });
  afterEach(async () => {
    for (const server of servers) await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });
  const newServer = (): FastCgiServer => {
    const server = new FastCgiServer({ secret: SECRET, handler: echoHandler, log: () => {} });
    servers.push(server);
    return server;
  };

  it('creates the socket with mode 0600 and serves on it', async () => {
    const path = join(dir, 'a.sock');
    const address = await newServer().listen(`unix:${path}`);
    assert.equal(address, `unix:${path}`);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const client = await FastCgiTestClient.connect(address);
    const response = await client.request({ params: { REQUEST_METHOD: 'GET' } }, SECRET);
    assert.equal(parseCgiResponse(response.stdout).status, 200);
    client.close();
  });

  it('replaces a stale socket file left by a killed process', async () => {
    const path = join(dir, 'stale.sock');
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok(existsSync(path));
    await newServer().listen(`unix:${path}`);
  });

  it('refuses a path that is a regular file', async () => {
    const path = join(dir, 'file');
    writeFileSync(path, 'keep me');
    await assert.rejects(newServer().listen(`unix:${path}`), { code: 'ERR_LISTEN_ADDRESS' });
    assert.equal(statSync(path).isFile(), true);
  });

  it('refuses a socket another process listens on', async () => {
    const path = join(dir, 'live.sock');
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(path, resolve));
    try {
      await assert.rejects(newServer().listen(`unix:${path}`), { code: 'ERR_LISTEN_ADDRESS' });
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});
