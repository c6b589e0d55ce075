// The bridge's life under the Windows DLL (Wine): killed mid-response (TerminateProcess) and
// restarted by the DLL; TerminateExtension ends it, leaving no node.exe behind.
import assert from 'node:assert/strict';
import { eventually, fetchBuffer } from '../native/support/harness.js';
import { streamRequest } from '../e2e/support/transfer.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { processAlive, startWinStack, waitForBridge, type WinStack } from './support/stack.js';

describe('windows: the bridge process', function () {
  this.timeout(180_000);
  let upstream: Upstream;
  const stacks: WinStack[] = [];

  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    for (const stack of stacks) await stack.stop();
    await upstream?.stop();
  });

  it('killed mid-response: the client sees a cut-off body, the DLL starts a new bridge', async () => {
    const stack = await startWinStack({ upstream: upstream.origin });
    stacks.push(stack);
    const pid = await waitForBridge(stack);
    const size = 4 * 1024 * 1024 * 1024;
    let underWay = (): void => {};
    const started = new Promise<void>((done) => (underWay = done));
    const pending = streamRequest(stack.url(`/stream?bytes=${size}`), { onFirstBytes: underWay });
    await Promise.race([started, pending]);
    process.kill(pid);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.complete, false);
    assert.ok(res.bytes < size);
    assert.ok(await eventually(() => (stack.bridgePid() ?? pid) !== pid, 6000), stack.log());
    assert.notEqual(stack.bridgePid(), pid);
    const next = await fetchBuffer(stack.url('/after'));
    assert.equal(next.status, 200);
    assert.equal(processAlive(pid), false);
    assert.deepEqual(stack.running.host.violations(), []);
  });

  it('TerminateExtension ends the bridge: no node.exe left behind', async () => {
    const stack = await startWinStack({ upstream: upstream.origin });
    const pid = await waitForBridge(stack);
    assert.equal((await fetchBuffer(stack.url('/before'))).status, 200);
    assert.equal(processAlive(pid), true);
    await stack.stop(); // closes the host: TerminateExtension, then FreeLibrary
    assert.ok(await eventually(() => !processAlive(pid), 1000), `bridge pid ${pid} still runs`);
  });
});
