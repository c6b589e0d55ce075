// GET through the whole path: status, raw target (%2F, non-ASCII) byte for byte, and the
// user from emulated Windows auth arriving as X-Forwarded-User.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rawExchange } from '../native/support/harness.js';
import { startUpstream, type EchoResult, type Upstream } from '../support/upstream.js';
import { startStack, waitForBridge, type Stack } from './support/stack.js';

describe('e2e: GET', function () {
  // Starting the stack under a sanitizer on a busy machine once took over 60 s.
  this.timeout(180_000);
  let upstream: Upstream;
  let stack: Stack;
  let users = '';

  before(async () => {
    upstream = await startUpstream();
    const usersDir = join(process.env['TMPDIR'] ?? '/tmp');
    users = join(usersDir, `kallithea-isapi-e2e-users-${process.pid}`);
    writeFileSync(users, 'alice:secret\n');
    stack = await startStack({
      upstream: `http://127.0.0.1:${upstream.port}`,
      hostArgs: ['--auth', `basic:${users}`, '--anonymous-fallback'],
    });
    await waitForBridge(stack);
  });
  after(async () => {
    await stack?.stop();
    await upstream?.stop();
    if (users !== '') rmSync(users, { force: true });
  });

  function echoOf(raw: Buffer): EchoResult {
    const text = raw.toString('latin1');
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    return JSON.parse(body) as EchoResult;
  }

  it('relays %2F, %25 and percent-encoded UTF-8 targets byte for byte', async () => {
    const target = '/repo/a%2Fb/caf%C3%A9/%E2%82%AC/%252F?q=%2F&x=%C3%A9';
    const raw = await rawExchange(
      stack.host.port,
      Buffer.from(`GET ${target} HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n`, 'latin1'),
    );
    assert.match(raw.toString('latin1'), /^HTTP\/1\.1 200 /);
    const echo = echoOf(raw);
    assert.equal(echo.method, 'GET');
    assert.equal(echo.target, target);
    const host = echo.headers.find(([n]) => n.toLowerCase() === 'host');
    assert.equal(host?.[1], 'example.test');
  });

  it('passes the authenticated user as X-Forwarded-User', async () => {
    const auth = Buffer.from('alice:secret').toString('base64');
    const raw = await rawExchange(
      stack.host.port,
      `GET /whoami HTTP/1.1\r\nHost: h\r\nAuthorization: Basic ${auth}\r\nX-Forwarded-User: mallory\r\nConnection: close\r\n\r\n`,
    );
    const echo = echoOf(raw);
    const users = echo.headers.filter(([n]) => n.toLowerCase() === 'x-forwarded-user').map(([, v]) => v);
    assert.equal(users.length, 1);
    assert.match(users[0] ?? '', /alice$/);
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(stack.violations(), []);
  });
});

// Without the verifier (as the benchmarks run the host) the DLL's head and body, one
// asynchronous HSE_REQ_VECTOR_SEND, reach JavaScript as one event; with it they are two.
describe('e2e: GET without the verifier', function () {
  this.timeout(180_000);
  let upstream: Upstream;
  let stack: Stack;

  before(async () => {
    upstream = await startUpstream();
    stack = await startStack({ upstream: `http://127.0.0.1:${upstream.port}`, verify: false });
    await waitForBridge(stack);
  });
  after(async () => {
    await stack?.stop();
    await upstream?.stop();
  });

  it('answers pipelined GET, HEAD and GET on one kept connection, each whole', async () => {
    const request = (method: string, path: string): string => `${method} ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;
    const raw = (
      await rawExchange(
        stack.host.port,
        request('GET', '/one') + request('HEAD', '/two') + request('GET', '/stream?bytes=3000'),
        (got) => (got.toString('latin1').match(/HTTP\/1\.1 200 /g) ?? []).length === 3 && got.length > 3000,
      )
    ).toString('latin1');
    const answers = raw.split(/(?=HTTP\/1\.1 200 )/);
    assert.equal(answers.length, 3, raw);
    const [get, head, stream] = answers.map((answer) => {
      const split = answer.indexOf('\r\n\r\n');
      return { head: answer.slice(0, split), body: answer.slice(split + 4) };
    });
    assert.doesNotMatch(raw, /Connection: close/i);
    assert.equal((JSON.parse(get?.body ?? '') as EchoResult).target, '/one');
    assert.match(head?.head ?? '', /\r\nContent-Length: \d+/i);
    assert.equal(head?.body, '');
    assert.match(stream?.head ?? '', /\r\nContent-Length: 3000\r\n/i);
    assert.equal(stream?.body.length, 3000);
  });
});
