// The responder's cheap path for the common request: a GET whose empty STDIN came with its
// PARAMS is known to have no body before the handler runs, and a small complete response
// (header block, body, empty STDOUT, END_REQUEST) leaves in one socket write. A request
// with a body still streams it, and a slow body does not hold the header block back.
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import type { CgiResponse, FastCgiRequest } from '../../../lib/bridge/fastcgi/handler.js';
import { RecordType } from '../../../lib/bridge/fastcgi/protocol.js';
import { encodeStream } from '../../../lib/bridge/fastcgi/records.js';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';

const SECRET = 'small-response-secret';

/** Counts write() calls on the server's sockets (not the client's). */
function countServerWrites(clientPort: () => number): { count: () => number; restore: () => void } {
  const proto = Socket.prototype as unknown as Record<'write', (...args: unknown[]) => boolean>;
  const write = proto.write;
  let writes = 0;
  proto.write = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === clientPort()) writes += 1;
    return write.apply(this, args);
  };
  return {
    count: () => writes,
    restore: () => {
      proto.write = write;
    },
  };
}

describe('FastCGI responder: small responses', () => {
  let server: FastCgiServer;
  let address: string;
  let seen: FastCgiRequest | undefined;
  let body: () => AsyncIterable<Uint8Array>;
  /** Read stdin even when the request is known to have no body. */
  let readAnyway = false;

  beforeEach(async () => {
    server = new FastCgiServer({
      secret: SECRET,
      log: () => {},
      handler: async (request): Promise<CgiResponse> => {
        seen = request;
        const chunks: Buffer[] = [];
        if (!request.stdinEmpty || readAnyway)
          for await (const chunk of request.stdin) chunks.push(chunk as Buffer);
        return { status: 200, headers: [['X-Body', String(Buffer.concat(chunks).length)]], body: body() };
      },
    });
    address = await server.listen('tcp:127.0.0.1:0');
  });
  afterEach(() => {
    readAnyway = false;
    return server.close(1000);
  });

  it('knows a GET has no body, and answers it with one write', async () => {
    body = async function* () {
      yield Buffer.from('hello');
    };
    const client = await FastCgiTestClient.connect(address);
    const writes = countServerWrites(() => client.socket.localPort ?? -1);
    let response;
    try {
      response = await client.request({ params: { REQUEST_METHOD: 'GET' } }, SECRET);
    } finally {
      writes.restore();
    }
    assert.equal(seen?.stdinEmpty, true);
    assert.equal(response.ended, true);
    const cgi = parseCgiResponse(response.stdout);
    assert.equal(cgi.body.toString(), 'hello');
    assert.equal(writes.count(), 1);
    client.close();
  });

  it("sends a small response's header block and body in one STDOUT record", async () => {
    body = async function* () {
      yield Buffer.from('hel');
      yield Buffer.from('lo');
    };
    const client = await FastCgiTestClient.connect(address);
    client.send(FastCgiTestClient.encodeRequest({ params: { REQUEST_METHOD: 'GET' } }, SECRET));
    const kinds: string[] = [];
    for (let record = await client.nextRecord(); record !== null; record = await client.nextRecord()) {
      if (record.kind === 'stream') kinds.push(`stdout ${JSON.stringify(record.content.toString('latin1'))}`);
      else kinds.push(record.kind);
      if (record.kind === 'end-request') break;
    }
    assert.deepEqual(kinds, [
      `stdout ${JSON.stringify('Status: 200 OK\r\nX-Body: 0\r\n\r\nhello')}`,
      'stdout ""',
      'end-request',
    ]);
    client.close();
  });

  it("ends a GET's stdin, empty, when a handler reads it anyway", async () => {
    readAnyway = true;
    body = async function* () {
      yield Buffer.from('read');
    };
    const client = await FastCgiTestClient.connect(address);
    const response = await client.request({ params: { REQUEST_METHOD: 'GET' } }, SECRET);
    assert.equal(seen?.stdinEmpty, true);
    assert.equal(response.ended, true);
    const cgi = parseCgiResponse(response.stdout);
    assert.equal(cgi.headers.get('x-body'), '0');
    assert.equal(cgi.body.toString(), 'read');
    client.close();
  });

  it('ignores STDIN bytes after the empty record that ended it', async () => {
    readAnyway = true;
    body = async function* () {
      yield Buffer.from('ok');
    };
    const client = await FastCgiTestClient.connect(address);
    client.send(
      Buffer.concat([
        FastCgiTestClient.encodeRequest({ params: { REQUEST_METHOD: 'GET' } }, SECRET),
        encodeStream(RecordType.Stdin, 1, Buffer.from('late')),
      ]),
    );
    const response = await client.readResponse(1);
    assert.equal(response.ended, true);
    assert.equal(parseCgiResponse(response.stdout).headers.get('x-body'), '0');
    client.close();
  });

  it('streams a POST body, and sends the head before a slow body', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    body = async function* () {
      await released;
      yield Buffer.from('late');
    };
    const client = await FastCgiTestClient.connect(address);
    const request = { params: { REQUEST_METHOD: 'POST' }, stdin: Buffer.alloc(3000, 1) };
    client.send(FastCgiTestClient.encodeRequest(request, SECRET));
    const first = await client.nextRecord();
    assert.ok(first?.kind === 'stream', 'the head came before the body was released');
    assert.match(first.content.toString('latin1'), /^Status: 200 OK\r\nX-Body: 3000\r\n/);
    assert.equal(seen?.stdinEmpty, false);
    release();
    const rest = await client.readResponse(1);
    assert.equal(rest.ended, true);
    assert.equal(rest.stdout.toString(), 'late');
    client.close();
  });
});
