// The lifeline: started as the DLL starts it (a pipe at fd 3, KALLITHEA_ISAPI_LIFELINE_FD=3),
// the bridge exits once the parent's end closes, as when the IIS worker process dies.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBridgeProcess, type BridgeProcess } from '../../support/bridge-process.js';

describe('bridge: lifeline', function () {
  this.timeout(30_000);
  let dir: string;
  let bridge: BridgeProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kisapi-lifeline-'));
  });
  after(async () => {
    await bridge?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 when the parent closes its end of the pipe', async () => {
    bridge = await startBridgeProcess({ dir, bridge: { upstream: 'http://127.0.0.1:9' }, lifeline: true });
    bridge.cutLifeline();
    assert.equal(await bridge.exited, 0, bridge.output());
    assert.match(bridge.output(), /lifeline closed/);
  });
});
