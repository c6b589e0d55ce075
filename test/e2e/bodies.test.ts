// Request and response bodies through the whole path: POST with Content-Length, chunked
// upload, HEAD, and a response without Content-Length (chunked by the DLL).
import assert from 'node:assert/strict';
import { rawExchange } from '../native/support/harness.js';
import { patternSha256, type EchoResult } from '../support/upstream.js';
import { stackOverUpstream } from './support/stack.js';
import { streamRequest } from './support/transfer.js';

describe('e2e: bodies', function () {
  this.timeout(60_000);
  const running = stackOverUpstream();

  it('POST with Content-Length arrives whole', async () => {
    const size = 3 * 1024 * 1024 + 17;
    const res = await streamRequest(running.stack.url('/post'), { method: 'POST', bodyBytes: size });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.text) as EchoResult;
    assert.equal(echo.bodyBytes, size);
    assert.equal(echo.bodySha256, patternSha256(size));
  });

  it('a chunked upload arrives whole', async () => {
    const size = 2 * 1024 * 1024 + 5;
    const res = await streamRequest(running.stack.url('/chunked'), {
      method: 'PUT',
      bodyBytes: size,
      contentLength: false,
    });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.text) as EchoResult;
    assert.equal(echo.bodyBytes, size);
    assert.equal(echo.bodySha256, patternSha256(size));
  });

  it('HEAD gets headers only', async () => {
    const raw = await rawExchange(
      running.stack.host.port,
      'HEAD /h HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    );
    const text = raw.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.equal(text.slice(text.indexOf('\r\n\r\n') + 4), '');
    assert.doesNotMatch(text, /Transfer-Encoding/i);
  });

  it('a response without Content-Length is chunked for HTTP/1.1 and complete', async () => {
    const size = 5 * 1024 * 1024 + 3;
    const res = await streamRequest(running.stack.url(`/stream?bytes=${size}&chunked=1`));
    assert.equal(res.status, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.complete, true);
    assert.equal(res.bytes, size);
    assert.equal(res.sha256, patternSha256(size));
  });

  it('a response without Content-Length ends by close for HTTP/1.0', async () => {
    const raw = await rawExchange(
      running.stack.host.port,
      'GET /stream?bytes=1000&chunked=1 HTTP/1.0\r\nHost: h\r\n\r\n',
    );
    const text = raw.toString('latin1');
    assert.doesNotMatch(text, /Transfer-Encoding/i);
    assert.equal(text.length - (text.indexOf('\r\n\r\n') + 4), 1000);
  });

  it('204 and 304 carry no body and no chunking', async () => {
    for (const code of [204, 304]) {
      const raw = await rawExchange(
        running.stack.host.port,
        `GET /status/${code} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
      );
      const text = raw.toString('latin1');
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${code} `));
      assert.doesNotMatch(text, /Transfer-Encoding/i);
      assert.equal(text.slice(text.indexOf('\r\n\r\n') + 4), '');
    }
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(running.stack.violations(), []);
  });
});
