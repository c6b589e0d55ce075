// Issue 8: management records before authentication must not let a local process grow the
// bridge without bound. A peer that floods FCGI_GET_VALUES and never reads the answers grew
// the bridge by 220 MB in 3 s: every answer was queued in memory. Against the real
// `kallithea-isapi bridge` child, its resident set read from /proc (a memory bound, not a time).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { encodeGetValues } from '../../../lib/bridge/fastcgi/records.js';
import { ValueName } from '../../../lib/bridge/fastcgi/protocol.js';
import { assertServes, bridgePerSuite } from '../../support/bridge-process.js';
import { FastCgiTestClient } from '../../support/fastcgi-client.js';

const FLOOD_BYTES = 48 * 1024 * 1024;
const FLOOD_MS = 4000;
const BOUND_KIB = 50 * 1024;

/**
 * Writes GET_VALUES records (honouring our own socket's backpressure, so the flood is what the
 * bridge accepts) until FLOOD_BYTES went out, FLOOD_MS passed or the bridge closed; never
 * reads. Calls `sample` between writes. Resolves with the bytes sent and whether it was closed.
 */
async function flood(
  path: string,
  sample: () => void,
  prefix?: Buffer,
): Promise<{ sent: number; closed: boolean }> {
  const record = encodeGetValues([ValueName.MaxConns, ValueName.MaxReqs, ValueName.MpxsConns]);
  const batch = Buffer.concat(Array.from({ length: 1024 }, () => record));
  const socket: Socket = connect(path);
  socket.pause(); // never read: the answers pile up on the bridge's side
  let closed = false;
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  await new Promise((resolve) => socket.once('connect', resolve));
  if (prefix !== undefined) socket.write(prefix);
  let sent = 0;
  const until = Date.now() + FLOOD_MS;
  while (!closed && sent < FLOOD_BYTES && Date.now() < until) {
    sent += batch.length;
    if (!socket.write(batch)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, 100);
        socket.once('drain', done);
        socket.once('close', done);
      });
    }
    sample();
  }
  socket.destroy();
  return { sent, closed };
}

describe('bridge: a GET_VALUES flood that never reads the answers', function () {
  this.timeout(60_000);
  const suite = bridgePerSuite('kisapi-flood-');

  it(`before the secret: keeps the bridge's resident set within +${BOUND_KIB / 1024} MB and closes the flooding connection`, async () => {
    const { bridge } = suite;
    const start = bridge.memoryKiB('VmRSS');
    let peak = start;
    const sample = (): void => {
      peak = Math.max(peak, bridge.memoryKiB('VmRSS'));
    };
    const results = [];
    // A few connections in a row: a cap per connection must not be a cap per process only.
    for (let i = 0; i < 3; i += 1) results.push(await flood(bridge.socket, sample));
    sample();
    assert.ok(
      peak - start < BOUND_KIB,
      `VmRSS grew by ${Math.round((peak - start) / 1024)} MB (from ${start} KiB to ${peak} KiB); ` +
        `sent ${results.map((r) => r.sent).join(', ')} bytes`,
    );
    assert.ok(
      results.every((r) => r.closed),
      'the bridge kept a flooding connection open',
    );

    const client = await FastCgiTestClient.connect(`unix:${bridge.socket}`);
    try {
      assert.equal((await client.getValues([ValueName.MpxsConns])).get(ValueName.MpxsConns), '0');
    } finally {
      client.close();
    }
    await assertServes(bridge);
  });

  it(`after the secret: answered under backpressure, the resident set stays within +${BOUND_KIB / 1024} MB`, async () => {
    const { bridge } = suite;
    const start = bridge.memoryKiB('VmRSS');
    let peak = start;
    const sample = (): void => {
      peak = Math.max(peak, bridge.memoryKiB('VmRSS'));
    };
    // A request with the secret first: the per-connection cap no longer applies, only the
    // backpressure does (the bridge stops reading while its answers wait unread).
    const hello = FastCgiTestClient.encodeRequest(
      { params: { REQUEST_METHOD: 'GET', REQUEST_URI: '/hello', SERVER_PROTOCOL: 'HTTP/1.1' } },
      bridge.secret,
    );
    const result = await flood(bridge.socket, sample, hello);
    sample();
    assert.ok(
      peak - start < BOUND_KIB,
      `VmRSS grew by ${Math.round((peak - start) / 1024)} MB; sent ${result.sent} bytes`,
    );
    assert.ok(result.sent < FLOOD_BYTES, `the bridge read all ${result.sent} bytes without backpressure`);
  });
});
