// A client that goes away in the middle of an upload or a download: the DLL ends the
// request with DONE_WITH_SESSION (the verifier sees no violation) and keeps serving.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { eventually, fetchBuffer } from '../native/support/harness.js';
import { stackOverUpstream } from './support/stack.js';

describe('e2e: client disconnects', function () {
  this.timeout(60_000);
  const running = stackOverUpstream();

  it('mid-upload: the request ends and the upstream sees the abort', async () => {
    const closed = new Promise<string>((done) => running.upstream.events.once('close', done));
    const socket = connect(running.stack.host.port, '127.0.0.1');
    await new Promise<void>((done) => socket.once('connect', () => done()));
    socket.write('POST /upload-gone HTTP/1.1\r\nHost: h\r\nContent-Length: 100000000\r\n\r\n');
    socket.write(Buffer.alloc(1024 * 1024, 1));
    await new Promise((done) => setTimeout(done, 300));
    socket.destroy();
    assert.equal(await closed, '/upload-gone');
    const next = await fetchBuffer(running.stack.url('/after'));
    assert.equal(next.status, 200);
  });

  it('mid-download: the request ends and the server keeps serving', async () => {
    const socket = connect(running.stack.host.port, '127.0.0.1');
    await new Promise<void>((done) => socket.once('connect', () => done()));
    let got = 0;
    socket.on('data', (c: Buffer) => {
      got += c.length;
      if (got > 1024 * 1024) socket.destroy();
    });
    socket.write('GET /stream?bytes=1000000000&chunked=1 HTTP/1.1\r\nHost: h\r\n\r\n');
    await new Promise<void>((done) => socket.once('close', () => done()));
    assert.ok(
      await eventually(() => /request aborted: client went away/.test(running.stack.log()), 2000),
      running.stack.log(),
    );
    const next = await fetchBuffer(running.stack.url('/after'));
    assert.equal(next.status, 200);
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(running.stack.violations(), []);
  });
});
