// Response framing as IIS does it for ISAPI extensions (isapi.md section 6,
// native/host/README.md): no Content-Length and no chunking from the extension means
// `Connection: close` and the body ends with the connection; an extension's own
// `Transfer-Encoding: chunked` framing passes through byte for byte (no double
// chunking); keep-alive only with a length or chunking, fKeepConn and a willing client.
import assert from 'node:assert/strict';
import { rawExchange, startHost, type RunningHost } from './support/harness.js';

function split(raw: Buffer): { head: string; body: string } {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return { head: text.slice(0, end), body: text.slice(end + 4) };
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;

describe('isapi-host response framing', () => {
  let running: RunningHost;
  before(async () => {
    running = await startHost('stream_no_length');
  });
  after(() => running.stop());

  it('a response without length is not chunked: Connection: close, ended by closing', async () => {
    const raw = await rawExchange(running.port, get('/kallithea/s?parts=3'));
    const { head, body } = split(raw);
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\nConnection: close(\r\n|$)/i);
    assert.doesNotMatch(head, /Transfer-Encoding/i);
    assert.doesNotMatch(head, /Content-Length/i);
    assert.equal(body, 'part 0\npart 1\npart 2\n');
  });

  it("the extension's own chunk framing passes through unchanged, and the connection stays open", async () => {
    const expectedBody = '7\r\npart 0\n\r\n7\r\npart 1\n\r\n0\r\n\r\n';
    const raw = await rawExchange(running.port, get('/kallithea/s?parts=2&chunked=1'), (got) =>
      got.toString('latin1').endsWith(expectedBody),
    );
    const { head, body } = split(raw);
    assert.match(head, /\r\nTransfer-Encoding: chunked(\r\n|$)/i);
    assert.doesNotMatch(head, /Connection: close/i);
    assert.equal(body, expectedBody);
  });

  it('keeps the connection for a Content-Length response: two requests on one socket', async () => {
    const request = get('/kallithea/s?parts=2&length=1');
    const raw = await rawExchange(
      running.port,
      request + request,
      (got) => (got.toString('latin1').match(/part 1\n/g) ?? []).length === 2,
    );
    const text = raw.toString('latin1');
    assert.equal((text.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 2);
    assert.doesNotMatch(text, /Connection: close/i);
  });

  it('closes after a Content-Length response when fKeepConn is FALSE', async () => {
    const raw = await rawExchange(running.port, get('/kallithea/s?parts=1&length=1&keep=0'));
    assert.match(split(raw).head, /\r\nConnection: close(\r\n|$)/i);
    assert.equal(split(raw).body, 'part 0\n');
  });

  it('closes when the client asked to close', async () => {
    const raw = await rawExchange(
      running.port,
      get('/kallithea/s?parts=1&length=1', 'Connection: close\r\n'),
    );
    assert.match(split(raw).head, /\r\nConnection: close(\r\n|$)/i);
  });

  it('an HTTP/1.0 client gets the body ended by close too', async () => {
    const raw = await rawExchange(running.port, 'GET /kallithea/s?parts=2 HTTP/1.0\r\n\r\n');
    const { head, body } = split(raw);
    assert.doesNotMatch(head, /Transfer-Encoding/i);
    assert.equal(body, 'part 0\npart 1\n');
  });
});
