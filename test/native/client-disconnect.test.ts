// A client that goes away mid-body: the extension's pending ASYNC_READ_CLIENT completes
// with ERROR_OPERATION_ABORTED and cbIO 0, IS_CONNECTED turns FALSE, and the request
// still ends (no request left outstanding).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { eventually, fetchBuffer, startHost } from './support/harness.js';

const ERROR_OPERATION_ABORTED = 995;

describe('isapi-host client disconnect', () => {
  for (const name of ['echo_async_read', 'echo_sync']) {
    it(`${name}: the request ends after the client leaves mid-body`, async () => {
      const running = await startHost(name);
      try {
        const socket = connect(running.port, '127.0.0.1');
        await new Promise<void>((done) => socket.once('connect', () => done()));
        const sent = 200_000;
        socket.write('POST /kallithea/up HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n');
        socket.write(Buffer.alloc(sent, 0x61));
        // Once all that was sent has come back, the extension is waiting for more body.
        let received = 0;
        await new Promise<void>((done) =>
          socket.on('data', (c: Buffer) => {
            received += c.length;
            if (received >= sent) done();
          }),
        );
        socket.destroy();
        assert.ok(await eventually(() => running.host.liveRequests === 0), 'request still outstanding');
        if (name === 'echo_async_read') {
          const report = (await fetchBuffer(running.url('/kallithea/a?report'))).body.toString();
          assert.match(report, new RegExp(`^last_error=${ERROR_OPERATION_ABORTED} connected=0 errors=1 `));
        }
        assert.deepEqual(running.host.violations(), []);
      } finally {
        await running.stop();
      }
    });
  }
});
