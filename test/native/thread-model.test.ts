// Issue 9, pool starvation: HttpExtensionProc and completions ran on one fixed pool of
// max(4, 2 x CPUs) threads, so four uploads blocked in synchronous ReadClient stalled every
// other request. Now HttpExtensionProc and completions have a pool each, and each grows
// while its threads are blocked (as IIS's does). Ordering, not timing: the GET and the
// asynchronous completion must finish while the four uploads are still blocked.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { eventually, fetchBuffer, startHost } from './support/harness.js';

interface BlockedUpload {
  socket: Socket;
  received: () => Buffer;
  /** Sends the rest of the body. */
  finish(): void;
  /** The whole echo came back. */
  answered: Promise<void>;
}

const readAhead = 48 * 1024;
const total = readAhead + 10_000;

/** A POST that sends the read-ahead and stops: echo_sync sits in ReadClient for the rest. */
async function blockedUpload(port: number): Promise<BlockedUpload> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let answer: () => void = () => undefined;
  const answered = new Promise<void>((done) => (answer = done));
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    if (Buffer.concat(chunks).toString('latin1').endsWith('b'.repeat(10_000))) answer();
  });
  socket.write(`POST /kallithea/up HTTP/1.1\r\nHost: t\r\nContent-Length: ${total}\r\n\r\n`);
  socket.write(Buffer.alloc(readAhead, 0x61));
  // The extension echoes lpbData before its first ReadClient: once that came back, it is
  // blocked in ReadClient.
  await eventually(() => Buffer.concat(chunks).toString('latin1').endsWith('a'.repeat(readAhead)), 3000);
  return {
    socket,
    received: () => Buffer.concat(chunks),
    finish: () => socket.write(Buffer.alloc(10_000, 0x62)),
    answered,
  };
}

describe('isapi-host thread model (issue 9)', function () {
  this.timeout(60_000);

  it('four blocked synchronous uploads delay neither a GET nor an asynchronous completion', async () => {
    const running = await startHost('echo_sync', { threads: 4 });
    const uploads: BlockedUpload[] = [];
    try {
      for (let i = 0; i < 4; i++) uploads.push(await blockedUpload(running.port));
      const settled = uploads.map(() => false);
      uploads.forEach((u, i) => void u.answered.then(() => (settled[i] = true)));

      const get = await fetchBuffer(running.url('/kallithea/g?generate=1000'));
      assert.equal(get.status, 200);
      assert.equal(get.body.length, 1000);
      const completion = await fetchBuffer(running.url('/kallithea/a?async_hello'));
      assert.equal(completion.body.toString(), 'hello');

      // Both finished while every upload was still inside ReadClient.
      assert.deepEqual(settled, [false, false, false, false]);
      assert.ok(running.host.liveRequests >= 4);
      for (const upload of uploads) upload.finish();
      await Promise.all(uploads.map((u) => u.answered));
      assert.ok(await eventually(() => running.host.liveRequests === 0));
      assert.ok(running.host.poolThreads > 8, `pools grew: ${running.host.poolThreads} threads`);
      assert.deepEqual(running.host.violations(), []);
    } finally {
      for (const upload of uploads) upload.socket.destroy();
      await running.stop();
    }
  });

  // HttpExtensionProc calls wait for one wake per turn of the event loop (IsapiHost
  // schedules it with setImmediate): requests handed over outside an I/O callback, and
  // bodies that complete the read-ahead, must still get a thread.
  it('dispatches requests handed over from timers, and uploads once their body is in', async () => {
    const running = await startHost('echo_sync', {}, (handler) =>
      createServer((q, s) => setTimeout(() => handler(q, s), 5)),
    );
    try {
      const gets = await Promise.all(
        [1, 2, 3].map(() => fetchBuffer(running.url('/kallithea/g?generate=100'))),
      );
      for (const get of gets) assert.equal(get.body.length, 100);
      const upload = await blockedUpload(running.port);
      upload.finish();
      await upload.answered;
      upload.socket.destroy();
      assert.deepEqual(running.host.violations(), []);
    } finally {
      await running.stop();
    }
  });

  it('verifier: warns when an extension blocks a host thread too long', async () => {
    const running = await startHost('echo_sync', { blockWarnMs: 200 });
    const logs: string[] = [];
    running.host.on('log', (line: string) => logs.push(line));
    const upload = await blockedUpload(running.port);
    try {
      assert.ok(
        await eventually(() =>
          logs.some((l) =>
            /WARNING: HttpExtensionProc of POST \/kallithea\/up has blocked a host thread/.test(l),
          ),
        ),
        logs.join('\n'),
      );
      upload.finish();
      await upload.answered;
    } finally {
      upload.socket.destroy();
      await running.stop();
    }
  });
});
