// acceptRawTargets on a plain Node HTTP server: the bytes of a connection reach the parser
// in order, also while the server holds the socket paused (its backpressure on pipelined
// requests whose responses the client does not read), and none reach a parser after an
// upgrade.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { acceptRawTargets, rawTarget } from '../../../lib/host/raw-targets.js';

const BIG = 16 * 1024 * 1024; // well past what the loopback socket buffers hold
const MID = 64 * 1024; // past the server socket's high-water mark

interface Seen {
  raw: string;
  url: string;
  /** The server socket was paused when the request reached the handler. */
  paused: boolean;
}

function request(target: string): Buffer {
  return Buffer.from(`GET ${target} HTTP/1.1\r\nHost: t\r\n\r\n`, 'latin1');
}

/** Reads responses (each with a Content-Length) until `count` of them are in: their lengths. */
function readResponses(socket: Socket, count: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    let bodyLeft = 0; // body bytes of the current response still to come
    const lengths: number[] = [];
    socket.on('data', (chunk: Buffer) => {
      let rest = chunk;
      while (rest.length > 0) {
        if (bodyLeft > 0) {
          const taken = Math.min(bodyLeft, rest.length);
          bodyLeft -= taken;
          rest = rest.subarray(taken);
          continue;
        }
        head = Buffer.concat([head, rest]);
        rest = Buffer.alloc(0);
        const headEnd = head.indexOf('\r\n\r\n');
        if (headEnd === -1) break;
        const text = head.subarray(0, headEnd).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? NaN);
        lengths.push(length);
        rest = head.subarray(headEnd + 4);
        head = Buffer.alloc(0);
        bodyLeft = length;
      }
      if (lengths.length === count && bodyLeft === 0) resolve(lengths);
    });
    socket.on('error', reject);
  });
}

describe('host: acceptRawTargets on a Node HTTP server', function () {
  this.timeout(30_000);
  let server: Server;
  let port: number;
  const seen: Seen[] = [];

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push({ raw: rawTarget(req), url: req.url ?? '', paused: req.socket.isPaused() });
      const size = req.url === '/big' ? BIG : req.url === '/mid' ? MID : 2;
      const body = Buffer.alloc(size, 120);
      res.writeHead(200, { 'Content-Length': String(body.length) });
      res.end(body);
    });
    acceptRawTargets(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));
  beforeEach(() => {
    seen.length = 0;
  });
  const targetsSeen = (): string[][] => seen.map((s) => [s.raw, s.url]);

  it('takes raw targets of pipelined requests, whole and split across reads', async () => {
    const socket = connect(port, '127.0.0.1');
    const answered = readResponses(socket, 3);
    socket.write(Buffer.concat([request('/caf\xe9'), request('/plain')]));
    await new Promise((done) => setTimeout(done, 50));
    const split = request('/r\xc3\xa9po');
    socket.write(split.subarray(0, 7));
    await new Promise((done) => setTimeout(done, 50));
    socket.write(split.subarray(7));
    assert.deepEqual(await answered, [2, 2, 2]);
    socket.destroy();
    // [target as sent, req.url] of each request, in order
    assert.deepEqual(targetsSeen(), [
      ['/caf\xe9', '/caf%E9'],
      ['/plain', '/plain'],
      ['/r\xc3\xa9po', '/r%C3%A9po'],
    ]);
  });

  it('a request that arrives while the server holds the socket paused waits, then comes in order, its raw target kept', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((done) => socket.once('connect', () => done()));
    socket.pause(); // the client reads nothing yet: the big response backs up
    const settle = (): Promise<unknown> => new Promise((done) => setTimeout(done, 300));
    // The server pauses the socket on a request that finds another's response queued
    // past the socket's high-water mark (/mid behind /big), until the client reads.
    for (const target of ['/big', '/mid', '/third']) {
      socket.write(request(target));
      await settle();
    }
    socket.write(request('/f\xf6urth'));
    await settle();
    assert.deepEqual(
      seen.map((s) => s.url),
      ['/big', '/mid', '/third'],
      'the fourth request waits while the socket is paused',
    );
    assert.equal(seen[2]?.paused, true, 'the server paused the socket');
    const answered = readResponses(socket, 4);
    socket.resume();
    assert.deepEqual(await answered, [BIG, MID, 2, 2]);
    socket.destroy();
    assert.deepEqual(targetsSeen().slice(2), [
      ['/third', '/third'],
      ['/f\xf6urth', '/f%F6urth'],
    ]);
  });

  it('after an upgrade, the bytes that follow go to the upgrade handler only, not to a parser', async () => {
    const received: Buffer[] = [];
    let upgradedSocket: Socket | undefined;
    const upgraded = new Promise<void>((resolve) => {
      server.once('upgrade', (_req: IncomingMessage, socket: Socket) => {
        upgradedSocket = socket;
        socket.on('data', (chunk: Buffer) => received.push(chunk));
        resolve();
      });
    });
    const pause = (): Promise<unknown> => new Promise((done) => setTimeout(done, 100));
    const upgrading = connect(port, '127.0.0.1');
    upgrading.write(Buffer.from('GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n'));
    await upgraded;
    // The next connection gets the parser the upgrade freed (Node keeps a free list); bytes
    // of the upgraded connection fed to that parser would land in the middle of its request.
    const next = connect(port, '127.0.0.1');
    const answered = readResponses(next, 1);
    const head = request('/next');
    next.write(head.subarray(0, 20));
    await pause();
    const after = request('/caf\xe9');
    upgrading.write(after);
    await pause();
    next.write(head.subarray(20));
    assert.deepEqual(await answered, [2]);
    next.destroy();
    upgrading.destroy();
    upgradedSocket?.destroy();
    assert.deepEqual(Buffer.concat(received), after);
    assert.deepEqual(targetsSeen(), [['/next', '/next']]);
  });
});
