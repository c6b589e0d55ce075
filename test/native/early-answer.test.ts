// An extension that answers an upload before reading its body (echo_sync ?async_hello:
// the response and DONE before ReadClient). http.sys then drains the rest of the body
// (DrainEntityBody, 2 minutes by default) instead of resetting the connection, so the
// client can finish sending and reads the answer: on a closing connection the host ends
// it with a FIN once the body is in, and on a keep-alive one the next request is served.
// A close while body bytes are still unread would be a TCP reset, and the client would
// see EPIPE or ECONNRESET on its next write, perhaps before it read the answer.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startHost } from './support/harness.js';

const MiB = 1024 * 1024;

/** Resolves once what the socket received matches; rejects on a socket error. */
function received(socket: Socket, seen: () => string, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!pattern.test(seen())) return;
      socket.off('data', check);
      socket.off('error', reject);
      resolve();
    };
    socket.on('data', check);
    socket.once('error', reject);
    check();
  });
}

/** Writes `total` bytes with backpressure; rejects on a socket error. */
async function send(socket: Socket, total: number): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  for (let sent = 0; sent < total; sent += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
    if (!socket.write(piece)) {
      await new Promise<void>((resolve, reject) => {
        const failed = (error: Error): void => {
          socket.off('drain', drained);
          reject(error);
        };
        const drained = (): void => {
          socket.off('error', failed);
          resolve();
        };
        socket.once('drain', drained);
        socket.once('error', failed);
      });
    }
  }
}

/**
 * A POST of `first + rest` bytes: `first` before the answer is awaited, `rest` after it, so
 * the host answers while the client still has most of its body to send.
 */
async function uploadAnsweredEarly(
  port: number,
  connection: 'close' | 'keep-alive',
): Promise<{ socket: Socket; text: () => string }> {
  const first = 1 * MiB;
  const rest = 16 * MiB;
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.write(
    `POST /kallithea/up?async_hello=1 HTTP/1.1\r\nHost: t\r\nConnection: ${connection}\r\n` +
      `Content-Length: ${first + rest}\r\n\r\n`,
  );
  await send(socket, first);
  await received(socket, () => text, /\r\n\r\nhello$/);
  await send(socket, rest);
  return { socket, text: () => text };
}

describe('isapi-host: an answer before the upload was read', () => {
  it('drains the rest of the body, then closes with a FIN, not a reset (Connection: close)', async () => {
    const running = await startHost('echo_sync');
    try {
      const { socket, text } = await uploadAnsweredEarly(running.port, 'close');
      socket.end();
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.once('close', () => resolve());
      });
      assert.match(text(), /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(text(), /\r\nConnection: close\r\n/i);
      assert.deepEqual(running.host.violations(), []);
    } finally {
      await running.stop();
    }
  });

  it('drains the rest of the body and serves the next request on a keep-alive connection', async () => {
    const running = await startHost('echo_sync');
    try {
      const { socket, text } = await uploadAnsweredEarly(running.port, 'keep-alive');
      socket.write('GET /kallithea/next?async_hello=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      await received(socket, text, /hello[^]*\r\n\r\nhello$/);
      socket.destroy();
      assert.equal(text().split('HTTP/1.1 200 OK\r\n').length - 1, 2);
      assert.deepEqual(running.host.violations(), []);
    } finally {
      await running.stop();
    }
  });
});
