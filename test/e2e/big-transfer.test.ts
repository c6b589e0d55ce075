// 1 GiB each way through the whole path, generated on the fly and hashed; the host's
// memory stays bounded (the DLL keeps at most two 64 KiB windows per request).
import assert from 'node:assert/strict';
import { patternSha256, type EchoResult } from '../support/upstream.js';
import { sanitized, stackOverUpstream } from './support/stack.js';
import { streamRequest } from './support/transfer.js';

const GiB = 1024 * 1024 * 1024;
/** VmHWM the host may reach while moving 1 GiB: far below the body size. */
const MAX_HWM_KIB = 400 * 1024;

describe('e2e: 1 GiB transfers', function () {
  this.timeout(300_000);
  const running = stackOverUpstream();

  it('downloads 1 GiB without Content-Length (chunked by the DLL) intact', async () => {
    const res = await streamRequest(running.stack.url(`/stream?bytes=${GiB}&chunked=1`));
    assert.equal(res.status, 200);
    assert.equal(res.complete, true);
    assert.equal(res.bytes, GiB);
    assert.equal(res.sha256, patternSha256(GiB));
    if (!sanitized)
      assert.ok(running.stack.usage().hwmKiB < MAX_HWM_KIB, `host VmHWM ${running.stack.usage().hwmKiB} KiB`);
  });

  it('uploads 1 GiB intact', async () => {
    const res = await streamRequest(running.stack.url('/upload'), { method: 'POST', bodyBytes: GiB });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.text) as EchoResult;
    assert.equal(echo.bodyBytes, GiB);
    assert.equal(echo.bodySha256, patternSha256(GiB));
    if (!sanitized)
      assert.ok(running.stack.usage().hwmKiB < MAX_HWM_KIB, `host VmHWM ${running.stack.usage().hwmKiB} KiB`);
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(running.stack.violations(), []);
  });
});
