// GET, POST and HEAD through the Windows chain under Wine: Windows node.exe hosting the
// Windows DLL through the Windows isapi-host addon, the bridge spawned by the DLL on a real
// named pipe, the upstream on loopback. And the status page, with the Windows DLL's figures.
import assert from 'node:assert/strict';
import { streamRequest } from '../e2e/support/transfer.js';
import type { EchoResult } from '../support/upstream.js';
import { upstreamAndStack } from './support/stack.js';

describe('windows: GET, POST, HEAD', function () {
  this.timeout(120_000);
  const live = upstreamAndStack();

  it('runs on Windows node.exe and the bridge listens on a named pipe', () => {
    assert.equal(process.platform, 'win32');
    assert.equal(process.arch, process.env['KALLITHEA_ISAPI_WIN_ARCH'] || 'x64');
    assert.match(live.stack.log(), /bridge ready: pid \d+ at (pipe:)?\\\\\.\\pipe\\/);
  });

  it('GET relays the raw target and answers 200', async () => {
    const target = '/repo/a%2Fb/caf%C3%A9?q=%2F';
    const res = await streamRequest(live.stack.url(target));
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.text) as EchoResult;
    assert.equal(echo.method, 'GET');
    assert.equal(echo.target, target);
  });

  it('POST delivers the body (sha256 checked upstream)', async () => {
    const res = await streamRequest(live.stack.url('/post'), { method: 'POST', bodyBytes: 300_000 });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.text) as EchoResult;
    assert.equal(echo.method, 'POST');
    assert.equal(echo.bodyBytes, 300_000);
  });

  it('HEAD answers headers only', async () => {
    const res = await streamRequest(live.stack.url('/stream?bytes=5000'), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.bytes, 0);
    assert.equal(res.headers['content-length'], '5000');
  });

  it("the status page carries the Windows DLL's figures", async () => {
    const res = await streamRequest(live.stack.url('/~kallithea-isapi/status?format=json'));
    assert.equal(res.status, 200);
    const status = JSON.parse(res.text) as { dll: { mode: string; bridgeState: string } | null };
    assert.equal(status.dll?.mode, 'spawn', res.text);
    assert.equal(status.dll.bridgeState, 'ready');
  });
});
