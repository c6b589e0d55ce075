// cgi-fcgi (libfcgi, Debian libfcgi-bin) as the web server: `cgi-fcgi -bind -connect`
// sends its CGI environment as PARAMS (so the hop secret travels in the environment)
// and its stdin as STDIN, without FCGI_KEEP_CONN, and prints the STDOUT it gets back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FastCgiServer } from '../../lib/bridge/fastcgi/server.js';
import { parseCgiResponse } from '../support/fastcgi-client.js';
import { echoHandler } from '../support/fastcgi-echo-handler.js';

const SECRET = 'cgi-fcgi-peer-secret';

function cgiFcgi(
  socket: string,
  env: Record<string, string>,
  stdin: Buffer,
): Promise<{ code: number | null; stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn('cgi-fcgi', ['-bind', '-connect', socket], {
      env,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out) }));
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
  });
}

describe('cgi-fcgi as a FastCGI client of the responder', function () {
  this.timeout(30_000);
  let dir: string;
  let socket: string;
  let server: FastCgiServer;
  const logged: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fcgi-cgi-'));
    socket = join(dir, 'bridge.sock');
    server = new FastCgiServer({ secret: SECRET, handler: echoHandler, log: (line) => logged.push(line) });
    await server.listen(`unix:${socket}`);
  });
  after(async () => {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET: the environment arrives as params', async () => {
    const env = { REQUEST_METHOD: 'GET', PATH_INFO: '/repo/summary', KALLITHEA_ISAPI_SECRET: SECRET };
    const { code, stdout } = await cgiFcgi(socket, env, Buffer.alloc(0));
    assert.equal(code, 0);
    const cgi = parseCgiResponse(stdout);
    assert.equal(cgi.status, 200);
    assert.equal(cgi.body.toString(), 'GET /repo/summary\n');
    assert.equal(cgi.headers.get('x-echo-params'), '2'); // the secret is not passed on
  });

  it('POST: a 1 MiB body (CONTENT_LENGTH) echoed byte for byte', async () => {
    const body = randomBytes(1024 * 1024);
    const env = {
      REQUEST_METHOD: 'POST',
      CONTENT_LENGTH: String(body.length),
      KALLITHEA_ISAPI_SECRET: SECRET,
    };
    const { code, stdout } = await cgiFcgi(socket, env, body);
    assert.equal(code, 0);
    assert.ok(parseCgiResponse(stdout).body.equals(body));
  });

  it('without the secret: no answer, and a log line', async () => {
    const before = logged.length;
    const { stdout } = await cgiFcgi(socket, { REQUEST_METHOD: 'GET' }, Buffer.alloc(0));
    assert.equal(stdout.length, 0);
    assert.ok(logged.slice(before).some((line) => line.includes('hop authentication')));
  });
});
