// A chunked upload (no Content-Length anywhere) arrives whole: nginx sends no CONTENT_LENGTH,
// the bridge re-frames the body as chunked towards the upstream.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { chainPerSuite } from '../support/chain.js';
import { patternBytes, patternSha256, type EchoResult } from '../support/upstream.js';

describe('chain: chunked upload', function () {
  this.timeout(60_000);
  const running = chainPerSuite();

  it('re-frames a chunked request body as chunked and delivers every byte', async () => {
    const size = 10 * 1024 * 1024 + 123;
    const echo = await new Promise<EchoResult>((resolve, reject) => {
      const req = request(`${running.chain.url}/git-receive-pack`, { method: 'POST' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as EchoResult));
      });
      req.on('error', reject);
      Readable.from(patternBytes(size)).pipe(req);
    });
    assert.equal(echo.bodyBytes, size);
    assert.equal(echo.bodySha256, patternSha256(size));
    const framing = echo.headers.find(([name]) => name.toLowerCase() === 'transfer-encoding');
    assert.deepEqual(framing?.[1], 'chunked');
  });
});
