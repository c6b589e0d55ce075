// Issue 9, fidelity to IIS: the virtual-directory gate works on the path as http.sys
// canonicalises it (the one the extension sees), and a synchronous ReadClient after the
// client left returns TRUE with 0 bytes, as IIS documents (isapi.md section 4).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { eventually, fetchBuffer, rawExchange, startHost } from './support/harness.js';

const statusOf = async (port: number, target: string): Promise<string> =>
  (await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`))
    .toString('latin1')
    .split('\r\n')[0] ?? '';

describe('isapi-host fidelity (issue 9)', () => {
  it('gates the virtual directory on the canonical path (dot segments removed after decoding)', async () => {
    const running = await startHost('support_functions');
    try {
      assert.match(await statusOf(running.port, '/kallithea/../other/x?op=keepconn'), / 404 /);
      assert.match(await statusOf(running.port, '/kallithea/%2e%2e/other/x?op=keepconn'), / 404 /);
      assert.match(await statusOf(running.port, '/other/../kallithea/x?op=keepconn'), / 200 /);
      assert.match(await statusOf(running.port, '/KALLITHEA/./x?op=keepconn'), / 200 /);
      assert.deepEqual(running.host.violations(), []);
    } finally {
      await running.stop();
    }
  });

  it('synchronous ReadClient after the client left: TRUE with 0 bytes, IS_CONNECTED FALSE', async () => {
    const running = await startHost('echo_sync');
    try {
      const socket = connect(running.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('POST /kallithea/up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n');
      socket.write(Buffer.alloc(100_000, 0x61));
      let received = 0;
      await new Promise<void>((done) =>
        socket.on('data', (c: Buffer) => {
          received += c.length;
          if (received >= 100_000) done();
        }),
      );
      socket.destroy();
      assert.ok(await eventually(() => running.host.liveRequests === 0));
      const report = (await fetchBuffer(running.url('/kallithea/r?report'))).body.toString();
      assert.equal(report, 'early_end ok=1 size=0 connected=0');
    } finally {
      await running.stop();
    }
  });
});
