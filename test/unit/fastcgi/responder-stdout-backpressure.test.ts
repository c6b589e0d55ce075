// STDOUT backpressure: a web server that stops reading stops the body iterator (the
// responder waits for 'drain' before pulling the next chunk), and when it goes away the
// iterator is finished, so the upstream behind it is let go.
import assert from 'node:assert/strict';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { FastCgiTestClient } from '../../support/fastcgi-client.js';

const SECRET = 'stdout-bp';
const CHUNK = 64 * 1024;

describe('FastCGI responder: STDOUT backpressure', function () {
  this.timeout(30_000);
  let server: FastCgiServer;
  let address: string;
  let produced = 0;
  let finished!: () => void;
  const finishedPromise = new Promise<void>((resolve) => (finished = resolve));

  async function* endless(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        produced += CHUNK;
        yield Buffer.alloc(CHUNK, 0x62);
      }
    } finally {
      finished();
    }
  }

  before(async () => {
    server = new FastCgiServer({
      secret: SECRET,
      log: () => {},
      handler: async () => ({ status: 200, headers: [], body: endless() }),
    });
    address = await server.listen('tcp:127.0.0.1:0');
  });
  after(() => server.close(1000));

  it('stops pulling the body while the web server does not read', async () => {
    const client = await FastCgiTestClient.connect(address);
    client.socket.pause();
    client.send(FastCgiTestClient.encodeRequest({ params: { REQUEST_METHOD: 'GET' } }, SECRET));
    // Wait until production stops growing: the iterator is parked on 'drain'.
    let last = -1;
    while (produced !== last) {
      last = produced;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.ok(produced > 0);
    assert.ok(produced < 64 * 1024 * 1024, `produced ${produced} bytes for a reader that reads nothing`);
    client.close();
    await finishedPromise; // the iterator's finally ran: the body was let go
  });
});
