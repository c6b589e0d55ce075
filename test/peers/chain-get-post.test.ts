// nginx -> bridge -> upstream: plain GET and POST arrive intact, the IIS user is asserted.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { curl, IIS_USER, chainPerSuite } from '../support/chain.js';
import type { EchoResult } from '../support/upstream.js';

describe('chain: GET and POST through nginx and the bridge', function () {
  this.timeout(30_000);
  const running = chainPerSuite();

  it('GET reaches the upstream with method, target, Host and the IIS user', async () => {
    const result = await curl([
      '-H',
      'Host: hg.example.org',
      `${running.chain.url}/kallithea/repo?cmd=capabilities`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const echo = JSON.parse(result.stdout.toString()) as EchoResult;
    assert.equal(echo.method, 'GET');
    assert.equal(echo.target, '/kallithea/repo?cmd=capabilities');
    const headers = new Map(echo.headers.map(([name, value]) => [name.toLowerCase(), value]));
    assert.equal(headers.get('host'), 'hg.example.org');
    assert.equal(headers.get('x-forwarded-user'), IIS_USER);
    assert.equal(headers.get('x-forwarded-for'), '127.0.0.1');
    assert.equal(headers.get('x-forwarded-proto'), 'http');
    assert.equal(echo.bodyBytes, 0);
  });

  it('POST with a body arrives with its length and hash', async () => {
    const body = Buffer.alloc(300_000, 'k');
    const result = await curl(
      ['--data-binary', '@-', '-H', 'Content-Type: application/x-test', `${running.chain.url}/post`],
      Readable.from([body]),
    );
    assert.equal(result.code, 0, result.stderr);
    const echo = JSON.parse(result.stdout.toString()) as EchoResult;
    assert.equal(echo.method, 'POST');
    assert.equal(echo.bodyBytes, body.length);
    assert.equal(echo.bodySha256, createHash('sha256').update(body).digest('hex'));
    const headers = new Map(echo.headers.map(([name, value]) => [name.toLowerCase(), value]));
    assert.equal(headers.get('content-type'), 'application/x-test');
    assert.equal(headers.get('content-length'), String(body.length));
  });
});
