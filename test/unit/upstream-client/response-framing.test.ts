// The upstream client against a lying peer: every response below is written raw by the
// test's server, so each framing rule is checked against the bytes a broken or hostile
// upstream would send. A response that cannot be framed fails the exchange with its code
// and closes the connection (the next request gets a fresh one).
import assert from 'node:assert/strict';
import { ScriptedUpstream, type ScriptedConnection } from '../../support/scripted-upstream.js';
import { Collector, pool, send, withClient } from './exchange-support.js';

/** An upstream that answers every request on a connection with the next scripted reply. */
async function answering(...replies: Array<string | ((c: ScriptedConnection) => Promise<void> | void)>) {
  let next = 0;
  return new ScriptedUpstream(async (connection) => {
    for (;;) {
      await connection.readRequest();
      const reply = replies[next++];
      if (reply === undefined) return;
      if (typeof reply === 'string') connection.write(reply);
      else await reply(connection);
    }
  }).listen();
}

describe('upstream client: response framing', () => {
  it('reads a Content-Length body and reuses the connection', async () => {
    const upstream = await answering(
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello',
      'HTTP/1.1 201 Made\r\nContent-Length: 3\r\n\r\nbye',
    );
    await withClient(upstream, async (client) => {
      const first = await send(client).done;
      assert.equal(first.status, 200);
      assert.deepEqual(first.headers, ['Content-Length', '5', 'X-A', '1']);
      assert.equal(first.body.toString(), 'hello');
      const second = await send(client).done;
      assert.equal(second.statusText, 'Made');
      assert.equal(second.body.toString(), 'bye');
      assert.equal(upstream.connections.length, 1);
    });
  });

  it('takes the spaces and tabs around a header value off, and keeps those inside it', async () => {
    const upstream = await answering(
      'HTTP/1.1 200 OK\r\nContent-Length:2\r\nX-Padded: \t a  b\t c \t\r\nX-Empty: \t \r\nX-Bare:\r\n\r\nok',
    );
    await withClient(upstream, async (client) => {
      const response = await send(client).done;
      assert.deepEqual(response.headers, [
        'Content-Length',
        '2',
        'X-Padded',
        'a  b\t c',
        'X-Empty',
        '',
        'X-Bare',
        '',
      ]);
      assert.equal(response.body.toString(), 'ok');
    });
  });

  it('reads a chunked body with extensions and trailers, delivered a byte at a time', async () => {
    const response =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n';
    const upstream = await answering(async (connection) => {
      for (const byte of Buffer.from(response, 'latin1')) {
        connection.write(Buffer.from([byte]));
        await new Promise((resolve) => setImmediate(resolve));
      }
    }, 'HTTP/1.1 204 No Content\r\n\r\n');
    await withClient(upstream, async (client) => {
      const first = await send(client).done;
      assert.equal(first.error, undefined);
      assert.equal(first.body.toString(), 'hello 0123456789');
      assert.equal((await send(client).done).status, 204);
      assert.equal(upstream.connections.length, 1, 'the chunked response left the connection reusable');
    });
  });

  it('hands the body bytes of one read on as one chunk, however many chunks of a chunked body they hold', async () => {
    // Kallithea's hg and git output: many 4 KiB chunks per read of the bridge.
    const chunks = Array.from({ length: 10 }, (_, i) => `4\r\nab${i}d\r\n`).join('');
    const upstream = await answering(
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`,
    );
    await withClient(upstream, async (client) => {
      const calls: number[] = [];
      const handler = new (class extends Collector {
        override onData(chunk: Buffer): boolean {
          calls.push(chunk.length);
          return super.onData(chunk);
        }
      })();
      const outcome = await send(client, {}, handler).done;
      assert.equal(outcome.error, undefined);
      assert.equal(outcome.body.toString(), Array.from({ length: 10 }, (_, i) => `ab${i}d`).join(''));
      assert.deepEqual(calls, [40], 'one onData for the one read');
    });
  });

  it('reads a body delimited by the close, and does not reuse that connection', async () => {
    const upstream = await answering((connection) => {
      connection.write('HTTP/1.1 200 OK\r\n\r\nuntil the end');
      connection.socket.end();
    });
    await withClient(upstream, async (client) => {
      const outcome = await send(client).done;
      assert.equal(outcome.error, undefined);
      assert.equal(outcome.body.toString(), 'until the end');
      assert.equal(client.stats.connected, 0);
    });
  });

  it('reads no body after HEAD, 204 and 304, whatever their headers say', async () => {
    const upstream = await answering(
      'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n',
      'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    );
    await withClient(upstream, async (client) => {
      const head = await send(client, { method: 'HEAD' }).done;
      assert.deepEqual([head.status, head.body.length], [200, 0]);
      assert.equal((await send(client).done).status, 204);
      assert.equal((await send(client).done).status, 304);
      assert.equal((await send(client).done).body.toString(), 'ok');
      assert.equal(upstream.connections.length, 1);
    });
  });

  it('skips 1xx interim responses and delivers the final one', async () => {
    const upstream = await answering(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine',
    );
    await withClient(upstream, async (client) => {
      const outcome = await send(client).done;
      assert.equal(outcome.status, 200);
      assert.deepEqual(outcome.headers, ['Content-Length', '4']);
      assert.equal(outcome.body.toString(), 'fine');
    });
  });

  const refused: Array<[string, string, string]> = [
    ['a Content-Length that is not a number', 'Content-Length: 12abc\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['a negative Content-Length', 'Content-Length: -1\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    [
      'a repeated Content-Length, even equal',
      'Content-Length: 2\r\nContent-Length: 2\r\n',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    [
      'conflicting Content-Lengths',
      'Content-Length: 2\r\nContent-Length: 5\r\n',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    ['a list as Content-Length', 'Content-Length: 2, 2\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    [
      'Content-Length with Transfer-Encoding',
      'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    [
      'a Content-Length beyond 2^53',
      'Content-Length: 99999999999999999\r\n',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    ['a header line without a colon', 'Garbage\r\n', 'HPE_INVALID_CONSTANT'],
    ['an obsolete folded header', 'X-A: 1\r\n folded\r\n', 'HPE_INVALID_CONSTANT'],
    ['a control byte in a value', 'X-A: a\x01b\r\n', 'HPE_INVALID_CONSTANT'],
  ];
  for (const [what, headers, code] of refused) {
    it(`refuses ${what}`, async () => {
      const upstream = await answering(
        `HTTP/1.1 200 OK\r\n${headers}\r\nok`,
        'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!',
      );
      await withClient(upstream, async (client) => {
        const outcome = await send(client).done;
        assert.equal(outcome.error?.code, code);
        assert.equal(outcome.status, undefined, 'no head was delivered');
        await upstream.connections[0]?.closed();
        assert.equal((await send(client).done).body.toString(), '!');
        assert.equal(upstream.connections.length, 2, 'the broken connection was not reused');
      });
    });
  }

  const badChunks: Array<[string, string]> = [
    ['a chunk size that is not hexadecimal', 'zz\r\nhello\r\n0\r\n\r\n'],
    ['a chunk size over 2^52', 'FFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n'],
    ['a negative chunk size', '-5\r\nhello\r\n0\r\n\r\n'],
    ['chunk data longer than its size', '3\r\nhello\r\n0\r\n\r\n'],
    ['a chunk size line ended by LF alone', '5\nhello\r\n0\r\n\r\n'],
    ['an endless chunk size line', `5${' '.repeat(9000)}`],
  ];
  for (const [what, body] of badChunks) {
    it(`fails on ${what}`, async () => {
      const upstream = await answering(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
      await withClient(upstream, async (client) => {
        const outcome = await send(client).done;
        assert.equal(outcome.error?.code, 'HPE_INVALID_CHUNK_SIZE');
        await upstream.connections[0]?.closed();
      });
    });
  }

  it('refuses a head over the limit, and garbage for a status line', async () => {
    const upstream = await answering(
      `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'SSH-2.0-OpenSSH\r\n\r\n',
      'HTTP/1.1 2000 OK\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\n\r\n',
    );
    await withClient(upstream, { connections: 4 }, async (client) => {
      assert.equal((await send(client).done).error?.code, 'UND_ERR_HEADERS_OVERFLOW');
      assert.equal((await send(client).done).error?.code, 'HPE_INVALID_STATUS');
      assert.equal((await send(client).done).error?.code, 'HPE_INVALID_STATUS');
      assert.equal((await send(client).done).error?.code, 'HPE_INVALID_CONSTANT');
    });
  });

  it('fails when the upstream closes mid-head, and mid-body after the head was delivered', async () => {
    const upstream = await answering(
      (connection) => {
        connection.write('HTTP/1.1 200 OK\r\nContent-Le');
        connection.socket.end();
      },
      (connection) => {
        connection.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf');
        connection.socket.end();
      },
      (connection) => {
        connection.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel');
        connection.socket.end();
      },
    );
    await withClient(upstream, { connections: 3 }, async (client) => {
      const midHead = await send(client).done;
      assert.deepEqual([midHead.status, midHead.error?.code], [undefined, 'UND_ERR_SOCKET']);
      const midBody = await send(client).done;
      assert.deepEqual([midBody.status, midBody.error?.code], [200, 'UND_ERR_SOCKET']);
      assert.equal(midBody.body.toString(), 'half');
      const midChunk = await send(client).done;
      assert.deepEqual([midChunk.status, midChunk.error?.code], [200, 'UND_ERR_SOCKET']);
    });
  });

  it('does not reuse a connection that sent bytes beyond the response (no pipelining)', async () => {
    const upstream = await answering(
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra',
      'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond',
    );
    await withClient(upstream, async (client) => {
      assert.equal((await send(client).done).body.toString(), 'ok');
      await upstream.connections[0]?.closed();
      assert.equal((await send(client).done).body.toString(), 'second');
      assert.equal(upstream.connections.length, 2);
    });
  });

  it("keeps an idle connection no longer than the upstream's Keep-Alive timeout, less a margin", async () => {
    // timeout=1: less the 1 s margin nothing is left, so the next request takes a new
    // connection rather than one the upstream may be closing at that moment.
    const reply = 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 1\r\n\r\nk';
    const upstream = await answering(reply, reply);
    await withClient(upstream, async (client) => {
      assert.equal((await send(client).done).body.toString(), 'k');
      assert.equal((await send(client).done).body.toString(), 'k');
      assert.equal(upstream.connections.length, 2);
    });
  });

  it('does not reuse a connection after Connection: close or an HTTP/1.0 response', async () => {
    const upstream = await answering('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na');
    const old = await answering('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb');
    const client = pool(upstream.origin);
    const client10 = pool(old.origin);
    try {
      assert.equal((await send(client).done).body.toString(), 'a');
      assert.equal((await send(client10).done).body.toString(), 'b');
      assert.equal(client.stats.connected, 0);
      assert.equal(client10.stats.connected, 0);
    } finally {
      await client.destroy();
      await client10.destroy();
      await upstream.close();
      await old.close();
    }
  });
});
