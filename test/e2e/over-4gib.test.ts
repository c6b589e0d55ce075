// Bodies past 4 GiB through the whole path, both ways, counted byte for byte. ISAPI's
// cbTotalBytes is a DWORD: a 5 GiB upload arrives as 0xFFFFFFFF ("read to the end"), and
// the DLL, the bridge and the forwarder must all count in 64 bits (iisnode, ANCM and
// pywin32 each broke here). Skipped under the sanitizers, whose slowdown makes 10 GiB of
// traffic take too long; the 1 GiB tests run there.
import assert from 'node:assert/strict';
import { patternSha256, type EchoResult } from '../support/upstream.js';
import { sanitized, stackOverUpstream } from './support/stack.js';
import { streamRequest } from './support/transfer.js';

const FIVE_GIB = 5 * 1024 * 1024 * 1024;

describe('e2e: bodies over 4 GiB', function () {
  this.timeout(900_000);
  before(function () {
    if (sanitized) this.skip();
  });
  const running = stackOverUpstream();

  it('downloads 5 GiB with its Content-Length intact', async () => {
    const res = await streamRequest(running.stack.url(`/stream?bytes=${FIVE_GIB}`));
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(FIVE_GIB));
    assert.equal(res.complete, true);
    assert.equal(res.bytes, FIVE_GIB);
    assert.equal(res.sha256, patternSha256(FIVE_GIB));
  });

  it('uploads 5 GiB with a Content-Length past 32 bits intact', async () => {
    const res = await streamRequest(running.stack.url('/upload'), { method: 'POST', bodyBytes: FIVE_GIB });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.text) as EchoResult;
    assert.equal(echo.bodyBytes, FIVE_GIB);
    assert.equal(echo.bodySha256, patternSha256(FIVE_GIB));
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(running.stack.violations(), []);
  });
});
