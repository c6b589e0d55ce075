// Issue 9, leaked requests: every native path that ends a request (here: the client gone
// before dispatch, and gone while the extension reads) sends one `finished` event, on
// which the JS side lets go of req, res and socket. 200 aborted uploads used to leave 200
// HostedRequests held forever.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { eventually, fetchBuffer, startHost } from './support/harness.js';

/** One upload that sends `sent` bytes of a 1 MB body, then resets the connection. */
function abortedUpload(port: number, sent: number): Promise<void> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('close', () => done());
    socket.write('POST /kallithea/up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n');
    socket.write(Buffer.alloc(sent, 0x61), () => setImmediate(() => socket.resetAndDestroy()));
  });
}

describe('isapi-host aborted uploads (issue 9)', function () {
  this.timeout(300_000);

  it('1,000 aborted uploads leave no HostedRequest held and no native request live', async () => {
    const running = await startHost('echo_sync');
    try {
      // Half stop inside the 48 KiB read-ahead (gone before dispatch), half after it
      // (gone while the extension is in ReadClient).
      for (let batch = 0; batch < 20; batch++) {
        const uploads: Array<Promise<void>> = [];
        for (let i = 0; i < 50; i++) uploads.push(abortedUpload(running.port, i % 2 === 0 ? 1024 : 100_000));
        await Promise.all(uploads);
      }
      assert.ok(
        await eventually(() => running.host.liveRequests === 0 && running.host.heldRequests === 0, 3000),
        `live ${running.host.liveRequests}, held ${running.host.heldRequests}`,
      );
      assert.deepEqual(running.host.violations(), []);
      assert.deepEqual(running.host.handlerErrors(), []);
      // And the host still serves.
      const after = await fetchBuffer(running.url('/kallithea/e'), { method: 'POST', body: 'still here' });
      assert.equal(after.body.toString(), 'still here');
    } finally {
      await running.stop();
    }
  });
});
