// The upstream client's exchanges against a real socket: request bodies (Content-Length,
// chunked, over 4 GiB framing), an upstream answering before the body is sent, backpressure
// both ways, client aborts, timeouts, queueing for a connection, and a refused connection.
// The peer is the test's own raw server (scripted-upstream.ts).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { requestHead } from '../../../lib/bridge/upstream-client/request.js';
import { ResponseParser } from '../../../lib/bridge/upstream-client/response-parser.js';
import { ScriptedUpstream, type ReceivedRequest } from '../../support/scripted-upstream.js';
import { pool, send, withClient } from './exchange-support.js';

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/** Answers every request with OK after reading it whole; keeps what it read. */
async function recording(): Promise<{ upstream: ScriptedUpstream; requests: ReceivedRequest[] }> {
  const requests: ReceivedRequest[] = [];
  const upstream = await new ScriptedUpstream(async (connection) => {
    for (;;) {
      requests.push(await connection.readRequest());
      connection.write(OK);
    }
  }).listen();
  return { upstream, requests };
}

function turns(n: number): Promise<void> {
  let chain = Promise.resolve();
  for (let i = 0; i < n; i += 1) chain = chain.then(() => new Promise((resolve) => setImmediate(resolve)));
  return chain;
}

describe('upstream client: exchanges', () => {
  it('sends a Content-Length body and a chunked one, and reuses the connection', async () => {
    const { upstream, requests } = await recording();
    const data = Buffer.alloc(300_000, 7);
    await withClient(upstream, async (client) => {
      const sized = await send(client, {
        method: 'PUT',
        body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
        contentLength: data.length,
      }).done;
      assert.equal(sized.body.toString(), 'ok');
      const chunked = await send(client, {
        method: 'POST',
        body: Readable.from([data, Buffer.alloc(0), data]),
      }).done;
      assert.equal(chunked.error, undefined);
      const bodiless = await send(client, { method: 'POST' }).done;
      assert.equal(bodiless.error, undefined);
      assert.match(requests[0]?.head ?? '', /\r\ncontent-length: 300000(\r\n|$)/);
      assert.deepEqual(requests[0]?.body, data);
      assert.match(requests[1]?.head ?? '', /\r\ntransfer-encoding: chunked(\r\n|$)/);
      assert.deepEqual(requests[1]?.body, Buffer.concat([data, data]));
      assert.match(requests[2]?.head ?? '', /\r\ncontent-length: 0(\r\n|$)/);
      assert.match(requests[2]?.head ?? '', /\r\nhost: kallithea.test\r\n/);
      assert.equal(upstream.connections.length, 1);
    });
  });

  it('fails a body shorter or longer than its Content-Length, and closes that connection', async () => {
    const { upstream } = await recording();
    await withClient(upstream, async (client) => {
      const short = await send(client, {
        method: 'PUT',
        body: Readable.from([Buffer.alloc(5)]),
        contentLength: 10,
      }).done;
      assert.equal(short.error?.code, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
      const long = await send(client, {
        method: 'PUT',
        body: Readable.from([Buffer.alloc(15)]),
        contentLength: 10,
      }).done;
      assert.equal(long.error?.code, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
      assert.equal(client.stats.connected, 0);
    });
  });

  it('refuses a request it cannot write, without connecting', async () => {
    const { upstream } = await recording();
    await withClient(upstream, async (client) => {
      const badValue = await send(client, { headers: ['X-A', 'a\r\nInjected: 1'] }).done;
      assert.equal(badValue.error?.code, 'UND_ERR_INVALID_ARG');
      const badMethod = await send(client, { method: 'GE T' }).done;
      assert.equal(badMethod.error?.code, 'UND_ERR_INVALID_ARG');
      assert.equal(upstream.connections.length, 0);
    });
  });

  it('frames bodies over 4 GiB with exact numbers', () => {
    const head = requestHead(
      {
        method: 'PUT',
        path: '/',
        headers: ['Host', 'h'],
        body: Readable.from([]),
        contentLength: 5_000_000_001,
      },
      'h',
    );
    assert.match(head, /\r\ncontent-length: 5000000001\r\n/);
    // A response of 5 GB + 1 byte (Content-Length) and a chunk of 0x12A05F201 bytes: fed
    // through 64 KiB reads, each ends exactly at its last byte, not 4 GiB early.
    const block = Buffer.alloc(64 * 1024, 1);
    for (const head of [
      'HTTP/1.1 200 OK\r\nContent-Length: 5000000001\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n12A05F201\r\n',
    ]) {
      let bytes = 0;
      const parser = new ResponseParser({ head: () => {}, body: (chunk) => (bytes += chunk.length) }, 16384);
      parser.reset(false);
      const start = Buffer.from(head, 'latin1');
      parser.execute(start, 0, start.length);
      let left = 5_000_000_001;
      while (left > 0) {
        const n = Math.min(left, block.length);
        assert.equal(parser.execute(block, 0, n), n);
        left -= n;
      }
      if (head.includes('chunked')) {
        assert.equal(parser.done, false);
        const tail = Buffer.from('\r\n0\r\n\r\n', 'latin1');
        parser.execute(tail, 0, tail.length);
      }
      assert.equal(parser.done, true);
      assert.equal(bytes, 5_000_000_001);
    }
  });

  it('delivers an answer sent before the request body, stops the body and drops the connection', async () => {
    const upstream = await new ScriptedUpstream(async (connection) => {
      await connection.readHead();
      connection.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nbig!');
    }).listen();
    const body = new PassThrough();
    body.write(Buffer.alloc(1000));
    await withClient(upstream, async (client) => {
      const outcome = await send(client, { method: 'POST', body, contentLength: 10_000_000 }).done;
      assert.equal(outcome.status, 413);
      assert.equal(outcome.body.toString(), 'big!');
      assert.equal(body.destroyed, true, 'the rest of the body is not read');
      await upstream.connections[0]?.closed();
      assert.equal(client.stats.connected, 0);
    });
  });

  it('pauses the upstream socket while the consumer lags, and resumes on request', async () => {
    const total = 32 * 1024 * 1024;
    const upstream = await new ScriptedUpstream(async (connection) => {
      await connection.readRequest();
      connection.write(`HTTP/1.1 200 OK\r\nContent-Length: ${total}\r\n\r\n`);
      const block = Buffer.alloc(1024 * 1024, 3);
      for (let sent = 0; sent < total; sent += block.length) {
        if (!connection.socket.write(block)) await once(connection.socket, 'drain');
      }
    }).listen();
    await withClient(upstream, async (client) => {
      const exchange = send(client);
      exchange.paused = true;
      await turns(200);
      const whilePaused = exchange.received;
      await turns(200);
      assert.equal(exchange.received, whilePaused, 'nothing read while paused');
      assert.ok(whilePaused < total / 4, `read ${whilePaused} bytes ahead of the consumer`);
      exchange.paused = false;
      exchange.resume?.();
      const outcome = await exchange.done;
      assert.equal(outcome.error, undefined);
      assert.equal(outcome.body.length, total);
    });
  });

  it('pauses the request body while the upstream does not read it', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const upstream = await new ScriptedUpstream(async (connection) => {
      connection.socket.pause();
      await released;
      connection.socket.resume();
      const request = await connection.readRequest();
      connection.write(
        `HTTP/1.1 200 OK\r\nContent-Length: ${String(request.body.length).length}\r\n\r\n${request.body.length}`,
      );
    }).listen();
    let produced = 0;
    const total = 32 * 1024 * 1024;
    const body = new Readable({
      read() {
        if (produced >= total) return void this.push(null);
        produced += 1024 * 1024;
        this.push(Buffer.alloc(1024 * 1024, 9));
      },
    });
    await withClient(upstream, async (client) => {
      const exchange = send(client, { method: 'PUT', body, contentLength: total });
      await turns(300);
      assert.ok(produced < total / 2, `${produced} bytes read from the body while the upstream read none`);
      release();
      const outcome = await exchange.done;
      assert.equal(outcome.body.toString(), String(total));
    });
  });

  it('on abort closes the connection mid-response and never pools it', async () => {
    const upstream = await new ScriptedUpstream(async (connection) => {
      await connection.readRequest();
      connection.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart');
      await connection.readRequest().catch(() => {});
    }).listen();
    await withClient(upstream, async (client) => {
      const exchange = send(client);
      await turns(50);
      assert.equal(exchange.outcome.status, 200);
      exchange.abort?.(new Error('client gone'));
      const outcome = await exchange.done;
      assert.equal(outcome.error?.message, 'client gone');
      await upstream.connections[0]?.closed();
      assert.equal(client.stats.connected, 0);
      assert.equal(client.stats.running, 0);
    });
  });

  it('queues requests beyond the connections, and serves them in order on one connection', async () => {
    const { upstream, requests } = await recording();
    await withClient(upstream, async (client) => {
      const exchanges = ['/1', '/2', '/3'].map((path) => send(client, { path }));
      assert.deepEqual([client.stats.running, client.stats.pending], [1, 2]);
      for (const exchange of exchanges) assert.equal((await exchange.done).body.toString(), 'ok');
      assert.deepEqual(
        requests.map((request) => request.head.split(' ')[1]),
        ['/1', '/2', '/3'],
      );
      assert.equal(upstream.connections.length, 1);
    });
  });

  it('times out a silent upstream before the head, and one that stalls mid-body', async () => {
    const upstream = await new ScriptedUpstream(async (connection) => {
      const request = await connection.readRequest();
      if (request.head.startsWith('GET /stall'))
        connection.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab');
    }).listen();
    await withClient(
      upstream,
      { connections: 2, headersTimeoutMs: 200, bodyTimeoutMs: 200 },
      async (client) => {
        assert.equal((await send(client, { path: '/hang' }).done).error?.code, 'UND_ERR_HEADERS_TIMEOUT');
        const stalled = await send(client, { path: '/stall' }).done;
        assert.deepEqual([stalled.status, stalled.error?.code], [200, 'UND_ERR_BODY_TIMEOUT']);
      },
    );
  });

  it('passes a refused connection on as ECONNREFUSED', async () => {
    const { upstream } = await recording();
    const origin = upstream.origin;
    await upstream.close();
    const client = pool(origin);
    try {
      assert.equal((await send(client).done).error?.code, 'ECONNREFUSED');
    } finally {
      await client.destroy();
    }
  });
});
