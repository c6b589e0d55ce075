// 1 GiB up and 1 GiB down through nginx and the bridge, streamed: the bridge's peak RSS
// (VmHWM from /proc) stays bounded, and counts and hashes match.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { chainPerSuite } from '../support/chain.js';
import { patternBytes, patternSha256, type EchoResult } from '../support/upstream.js';

const GIB = 1024 ** 3;
const RSS_LIMIT_KIB = 150 * 1024;

describe('chain: 1 GiB bodies stream with bounded bridge memory', function () {
  this.timeout(300_000);
  const running = chainPerSuite();

  it('downloads 1 GiB intact', async () => {
    const { bytes, sha256 } = await new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
      request(`${running.chain.url}/stream?bytes=${GIB}`, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
        });
        res.on('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(bytes, GIB);
    assert.equal(sha256, patternSha256(GIB));
    assert.ok(
      running.chain.bridge.memoryKiB('VmHWM') < RSS_LIMIT_KIB,
      `VmHWM ${running.chain.bridge.memoryKiB('VmHWM')} KiB`,
    );
  });

  it('uploads 1 GiB intact (Content-Length)', async () => {
    const echo = await new Promise<EchoResult>((resolve, reject) => {
      const req = request(
        `${running.chain.url}/upload`,
        { method: 'PUT', headers: { 'Content-Length': GIB } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as EchoResult));
        },
      );
      req.on('error', reject);
      Readable.from(patternBytes(GIB)).pipe(req);
    });
    assert.equal(echo.bodyBytes, GIB);
    assert.equal(echo.bodySha256, patternSha256(GIB));
    assert.ok(
      running.chain.bridge.memoryKiB('VmHWM') < RSS_LIMIT_KIB,
      `VmHWM ${running.chain.bridge.memoryKiB('VmHWM')} KiB`,
    );
  });
});
