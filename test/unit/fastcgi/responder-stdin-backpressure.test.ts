// STDIN backpressure: a handler that does not read its body stops the responder reading
// the socket, so the web server's writes stall while the responder holds a bounded
// amount; once the handler reads, every byte arrives intact.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastCgiRequest } from '../../../lib/bridge/fastcgi/handler.js';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { RecordType } from '../../../lib/bridge/fastcgi/protocol.js';
import { encodeStream } from '../../../lib/bridge/fastcgi/records.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';
import { bodyOf } from '../../support/fastcgi-echo-handler.js';

const SECRET = 'stdin-bp';
const HIGH_WATER = 64 * 1024;

/** Resolves true on 'drain', false if none came within `ms` (the writer is stalled). */
function drainedWithin(client: FastCgiTestClient, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.socket.off('drain', onDrain);
      resolve(false);
    }, ms);
    const onDrain = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    client.socket.once('drain', onDrain);
  });
}

describe('FastCGI responder: STDIN backpressure', function () {
  this.timeout(30_000);
  let dir: string;
  let server: FastCgiServer;
  let address: string;
  let request: FastCgiRequest | null = null;
  let release: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fcgi-bp-'));
    server = new FastCgiServer({
      secret: SECRET,
      log: () => {},
      stdinHighWaterMark: HIGH_WATER,
      handler: async (req) => {
        request = req;
        await released; // does not read stdin until the test says so
        const hash = createHash('sha256');
        let bytes = 0;
        for await (const chunk of req.stdin as AsyncIterable<Buffer>) {
          hash.update(chunk);
          bytes += chunk.length;
        }
        return { status: 200, headers: [], body: bodyOf(`${bytes} ${hash.digest('hex')}`) };
      },
    });
    address = await server.listen(`unix:${join(dir, 'bp.sock')}`);
  });
  after(async () => {
    release();
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stalls the writer while the handler does not read, holding a bounded amount', async () => {
    const client = await FastCgiTestClient.connect(address);
    const head = FastCgiTestClient.encodeRequest({ params: { REQUEST_METHOD: 'POST' } }, SECRET);
    client.send(head.subarray(0, head.length - 8)); // all but the closing empty STDIN

    const hash = createHash('sha256');
    let sent = 0;
    const chunk = Buffer.alloc(60_000);
    for (let i = 0; ; i++) {
      chunk.fill(i & 0xff);
      hash.update(chunk);
      sent += chunk.length;
      if (!client.send(encodeStream(RecordType.Stdin, 1, chunk)) && !(await drainedWithin(client, 300)))
        break;
      assert.ok(sent < 64 * 1024 * 1024, 'the writer never stalled');
    }
    assert.ok(request !== null, 'the handler was called before the body was read');
    const held = request.stdin.readableLength;
    assert.ok(held <= HIGH_WATER + 2 * 65536, `the responder holds ${held} body bytes`);

    release();
    client.send(encodeStream(RecordType.Stdin, 1, Buffer.alloc(0)));
    const response = await client.readResponse(1);
    assert.equal(parseCgiResponse(response.stdout).body.toString(), `${sent} ${hash.digest('hex')}`);
    client.close();
  });
});
