// Issue 8, bridge side of "a 502 during an upload": when Kallithea cannot take a request, the
// bridge answers 502 before it read the body. The answer must be whole FastCGI (header block,
// STDOUT end, END_REQUEST), the unread STDIN still coming for that request must be read and
// dropped, and the connection must carry the next request: the framing survives.
// Through the FastCGI test client (keep-conn and not) and through nginx with unbuffered uploads.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { Readable } from 'node:stream';
import { encodeBeginRequest, encodeParams, encodeStream } from '../../lib/bridge/fastcgi/records.js';
import { FCGI_KEEP_CONN, RecordType, Role } from '../../lib/bridge/fastcgi/protocol.js';
import { SECRET_PARAM } from '../../lib/bridge/fastcgi/handler.js';
import { closedPort, curl, startChain, type Chain } from '../support/chain.js';
import { FastCgiTestClient, parseCgiResponse } from '../support/fastcgi-client.js';
import { patternBytes } from '../support/upstream.js';

const UPLOAD = 8 * 1024 * 1024;

/**
 * A POST of UPLOAD bytes whose STDIN goes out 32 KiB at a time while the answer is read, as
 * the DLL does: it keeps sending the rest of the body after the early answer.
 */
async function postWhileSending(client: FastCgiTestClient, id: number, secret: string, keepConn: boolean) {
  client.send(
    Buffer.concat([
      encodeBeginRequest(id, Role.Responder, keepConn ? FCGI_KEEP_CONN : 0),
      encodeParams(
        id,
        Object.entries({
          REQUEST_METHOD: 'POST',
          REQUEST_URI: '/upload',
          SERVER_PROTOCOL: 'HTTP/1.1',
          CONTENT_LENGTH: String(UPLOAD),
          [SECRET_PARAM]: secret,
        }),
      ),
    ]),
  );
  const answer = client.readResponse(id);
  let sent = 0;
  for (const block of patternBytes(UPLOAD)) {
    for (let at = 0; at < block.length && !client.isClosed; at += 32 * 1024) {
      const part = block.subarray(at, at + 32 * 1024);
      if (!client.send(encodeStream(RecordType.Stdin, id, part))) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            client.socket.off('drain', done);
            client.socket.off('close', done);
            resolve();
          };
          client.socket.once('drain', done);
          client.socket.once('close', done);
        });
      }
      sent += part.length;
    }
  }
  if (!client.isClosed) client.send(encodeStream(RecordType.Stdin, id, Buffer.alloc(0)));
  return { response: await answer, sent };
}

describe('chain: an early 502 during an upload keeps the FastCGI framing', function () {
  this.timeout(60_000);
  let chain: Chain;

  before(async () => {
    chain = await startChain({ bridge: { upstream: `http://127.0.0.1:${await closedPort()}` } });
  });
  after(async () => {
    await chain?.stop();
  });

  it('FastCGI client, FCGI_KEEP_CONN: 502 with END_REQUEST, then the next request on the same connection', async () => {
    const client = await FastCgiTestClient.connect(`unix:${chain.bridge.socket}`);
    try {
      for (const id of [1, 2, 3]) {
        const { response, sent } = await postWhileSending(client, id, chain.bridge.secret, true);
        assert.ok(response.ended, `request ${id}: no END_REQUEST\n${chain.bridge.output()}`);
        assert.equal(response.appStatus, 0);
        assert.equal(sent, UPLOAD, 'the connection closed under the upload');
        assert.ok([502, 503].includes(parseCgiResponse(response.stdout).status));
      }
      assert.equal(client.isClosed, false, 'the bridge closed a kept connection');
    } finally {
      client.close();
    }
  });

  it('FastCGI client without FCGI_KEEP_CONN: a whole answer, then the bridge closes', async () => {
    const client = await FastCgiTestClient.connect(`unix:${chain.bridge.socket}`);
    try {
      const { response } = await postWhileSending(client, 1, chain.bridge.secret, false);
      assert.ok(response.ended, 'no END_REQUEST');
      assert.ok([502, 503].includes(parseCgiResponse(response.stdout).status));
      await client.closed;
    } finally {
      client.close();
    }
  });

  it('nginx, unbuffered upload: the client gets the error page, the next request works', async () => {
    for (let i = 0; i < 3; i += 1) {
      const result = await curl(
        [
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-H',
          'Content-Type: application/octet-stream',
          '--data-binary',
          '@-',
          `${chain.url}/upload`,
        ],
        Readable.from(patternBytes(UPLOAD)),
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout.toString(), /^50[23]$/);
    }
    const after = await curl(['-o', '/dev/null', '-w', '%{http_code}', `${chain.url}/repo`]);
    assert.match(after.stdout.toString(), /^50[23]$/);
    assert.doesNotMatch(chain.nginx.stderr(), /prematurely|upstream sent|invalid|reset by peer/);
  });
});

describe('chain: the upstream resets mid-upload (502 while the bridge streams the body)', function () {
  this.timeout(60_000);
  let chain: Chain;
  let resetter: Server;

  before(async () => {
    // Reads the request head and some body, then resets: Kallithea dying under an upload.
    resetter = createServer((socket) => {
      let seen = 0;
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > 256 * 1024) socket.resetAndDestroy();
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => resetter.listen(0, '127.0.0.1', resolve));
    const { port } = resetter.address() as { port: number };
    chain = await startChain({ bridge: { upstream: `http://127.0.0.1:${port}` } });
  });
  after(async () => {
    await chain?.stop();
    await new Promise((resolve) => resetter.close(resolve));
  });

  it('FastCGI client, FCGI_KEEP_CONN: an error answer with END_REQUEST, and the connection goes on', async () => {
    const client = await FastCgiTestClient.connect(`unix:${chain.bridge.socket}`);
    try {
      for (const id of [1, 2, 3]) {
        const { response, sent } = await postWhileSending(client, id, chain.bridge.secret, true);
        assert.ok(response.ended, `request ${id}: no END_REQUEST\n${chain.bridge.output()}`);
        assert.equal(sent, UPLOAD, 'the connection closed under the upload');
        assert.match(String(parseCgiResponse(response.stdout).status), /^50[23]$/);
      }
      assert.equal(client.isClosed, false, 'the bridge closed a kept connection');
    } finally {
      client.close();
    }
  });

  it('nginx, unbuffered upload: the client gets the error page', async () => {
    for (let i = 0; i < 3; i += 1) {
      const result = await curl(
        ['-o', '/dev/null', '-w', '%{http_code}', '--data-binary', '@-', `${chain.url}/upload`],
        Readable.from(patternBytes(UPLOAD)),
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout.toString(), /^50[23]$/);
    }
    assert.doesNotMatch(chain.nginx.stderr(), /prematurely|upstream sent|invalid|reset by peer/);
  });
});
