// Writes the host acknowledges itself (within its write buffer, as IIS's WriteClient
// returns once the TCP stack took the bytes) and writes that wait for the socket (past
// it), interleaved in one response: every byte arrives, in order, however slowly the
// client reads; and a client that stops reading holds the host to bounded memory, so
// acknowledging early never turns into buffering the whole response.
import assert from 'node:assert/strict';
import { type IncomingMessage, request } from 'node:http';
import {
  eventually,
  fixture,
  startHost,
  startHostProcess,
  type HostProcess,
  type RunningHost,
} from './support/harness.js';

const MiB = 1024 * 1024;

/** The byte the fixtures generate at offset `at`. */
function patternByte(at: number): number {
  return (at * 31 + Math.floor(at / 8192)) & 0xff;
}

function get(port: number, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, resolve).on('error', reject).end();
  });
}

/** Reads the body, pausing the response after every chunk; counts bytes that differ from the pattern. */
function readSlowly(res: IncomingMessage, pauseMs: number): Promise<{ length: number; wrong: number }> {
  return new Promise((resolve, reject) => {
    let length = 0;
    let wrong = 0;
    res.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== patternByte(length + i)) wrong++;
      length += chunk.length;
      res.pause();
      setTimeout(() => res.resume(), pauseMs);
    });
    res.on('end', () => resolve({ length, wrong }));
    res.on('error', reject);
  });
}

describe('isapi-host write acknowledgement', function () {
  this.timeout(120_000);

  describe('in order', () => {
    let running: RunningHost;
    before(async () => {
      running = await startHost('write_async');
    });
    after(() => running.stop());

    it('delivers small sync writes interleaved with async ones whole and in order to a slow reader', async () => {
      const size = 3 * MiB + 17;
      const res = await get(running.port, `/kallithea/w?mixed&size=${size}`);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(await readSlowly(res, 2), { length: size, wrong: 0 });
      assert.ok(await eventually(() => running.host.liveRequests === 0));
      assert.deepEqual(running.host.violations(), []);
    });

    it('keeps order across many concurrent mixed responses', async () => {
      const size = 256 * 1024 + 5;
      const results = await Promise.all(
        Array.from({ length: 16 }, async () =>
          readSlowly(await get(running.port, `/kallithea/w?mixed&size=${size}`), 0),
        ),
      );
      for (const result of results) assert.deepEqual(result, { length: size, wrong: 0 });
      assert.deepEqual(running.host.violations(), []);
    });
  });

  describe('backpressure', () => {
    let host: HostProcess;
    before(async () => {
      host = await startHostProcess(['--dll', fixture('write_async'), '--vdir', '/kallithea', '--verify']);
    });
    after(() => host.stop());

    it('holds bounded memory while the client does not read, then sends everything', async () => {
      const size = 512 * MiB;
      const before = host.memory().rssKiB;
      const res = await get(host.port, `/kallithea/w?mixed&size=${size}`);
      res.pause();
      // Until the host stops growing: at once when it waits for the socket, only after
      // the whole response when it does not.
      const samples: number[] = [];
      await eventually(() => {
        samples.push(host.memory().rssKiB);
        const last = samples.slice(-50); // half a second
        return last.length === 50 && Math.max(...last) - Math.min(...last) < 1024;
      }, 100_000);
      const grown = host.memory().rssKiB - before;
      assert.ok(grown < 64 * 1024, `the host grew by ${grown} KiB while its client read nothing`);
      res.resume();
      let length = 0;
      let wrong = 0;
      res.on('data', (chunk: Buffer) => {
        // A sample of each chunk: the in-order test above checks every byte.
        for (let i = 0; i < chunk.length; i += 997) if (chunk[i] !== patternByte(length + i)) wrong++;
        length += chunk.length;
      });
      await new Promise((done) => res.on('end', done));
      assert.deepEqual({ length, wrong }, { length: size, wrong: 0 });
    });
  });
});
