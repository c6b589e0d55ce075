// Bodies through the Windows chain under Wine: 100 MiB up and down with hashes, a chunked
// upload, a response without Content-Length, a client that leaves mid-download.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { eventually, fetchBuffer } from '../native/support/harness.js';
import { streamRequest } from '../e2e/support/transfer.js';
import { patternSha256, type EchoResult } from '../support/upstream.js';
import { upstreamAndStack } from './support/stack.js';

const MiB = 1024 * 1024;

describe('windows: bodies', function () {
  this.timeout(300_000);
  const live = upstreamAndStack();

  it('uploads 100 MiB with Content-Length, hash checked upstream', async () => {
    const size = 100 * MiB;
    const res = await streamRequest(live.stack.url('/upload'), { method: 'PUT', bodyBytes: size });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.text) as EchoResult;
    assert.equal(echo.bodyBytes, size);
    assert.equal(echo.bodySha256, patternSha256(size));
  });

  it('downloads 100 MiB with Content-Length, hash checked by the client', async () => {
    const size = 100 * MiB;
    const res = await streamRequest(live.stack.url(`/stream?bytes=${size}`));
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(size));
    assert.equal(res.complete, true);
    assert.equal(res.bytes, size);
    assert.equal(res.sha256, patternSha256(size));
  });

  it('uploads a chunked body (no Content-Length)', async () => {
    const size = 5 * MiB + 17;
    const res = await streamRequest(live.stack.url('/chunked-upload'), {
      method: 'POST',
      bodyBytes: size,
      contentLength: false,
    });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.text) as EchoResult;
    assert.equal(echo.bodyBytes, size);
    assert.equal(echo.bodySha256, patternSha256(size));
  });

  it('relays a response without Content-Length whole', async () => {
    const size = 3 * MiB + 5;
    const res = await streamRequest(live.stack.url(`/stream?bytes=${size}&chunked=1`));
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.complete, true);
    assert.equal(res.bytes, size);
    assert.equal(res.sha256, patternSha256(size));
  });

  it('a client leaving mid-download ends the request and the chain keeps serving', async () => {
    const socket = connect(live.stack.running.port, '127.0.0.1');
    await new Promise<void>((done) => socket.once('connect', () => done()));
    let got = 0;
    socket.on('data', (c: Buffer) => {
      got += c.length;
      if (got > MiB) socket.destroy();
    });
    socket.write('GET /stream?bytes=1000000000&chunked=1 HTTP/1.1\r\nHost: h\r\n\r\n');
    await new Promise<void>((done) => socket.once('close', () => done()));
    assert.ok(
      // The DLL words it by what it saw first: the client gone, or WriteClient refused.
      await eventually(
        () => /request aborted: (client went away|host refused WriteClient)/.test(live.stack.log()),
        1000,
      ),
      live.stack.log(),
    );
    const next = await fetchBuffer(live.stack.url('/after'));
    assert.equal(next.status, 200);
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(live.stack.running.host.violations(), []);
  });
});
