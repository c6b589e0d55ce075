// What an administrator's set-up does to the Windows DLL under Wine: a folder whose name has
// spaces and non-ASCII letters, a missing or unreadable ini, a log that cannot be written,
// node reached through a launcher shim, and a burst of new connections.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchBuffer, type SimpleResponse } from '../native/support/harness.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startWinStack, waitForBridge, type WinStack } from './support/stack.js';

/** GETs `path` until the answer is not a 503 from a bridge still starting, up to `ms`. */
async function firstAnswer(stack: WinStack, path: string, ms = 30_000): Promise<SimpleResponse> {
  const end = Date.now() + ms;
  for (;;) {
    const res = await fetchBuffer(stack.url(path));
    if (res.status !== 503 || Date.now() > end) return res;
    await new Promise((done) => setTimeout(done, 200));
  }
}

describe('windows: set-up', function () {
  this.timeout(180_000);
  let upstream: Upstream;
  const stacks: WinStack[] = [];
  async function stackOf(options: Parameters<typeof startWinStack>[0]): Promise<WinStack> {
    const stack = await startWinStack(options);
    stacks.push(stack);
    return stack;
  }

  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    for (const stack of stacks) await stack.stop();
    await upstream?.stop();
  });

  for (const folder of ['spawn é', 'spawn д', 'spawn 中 files']) {
    it(`runs from a folder named "${folder}"`, async () => {
      const stack = await stackOf({ upstream: upstream.origin, folder });
      // The DLL read its ini (bridge_script is set only there) and wrote its log in that folder.
      await waitForBridge(stack);
      const res = await fetchBuffer(stack.url('/from-a-wide-folder'));
      assert.equal(res.status, 200, res.body.toString());
    });
  }

  it('a missing ini is an error page that says so', async () => {
    const stack = await stackOf({ upstream: upstream.origin, ini: false });
    const res = await firstAnswer(stack, '/no-ini');
    assert.equal(res.status, 500);
    assert.match(res.body.toString(), /kallithea-isapi\.ini: the configuration file is missing/);
  });

  it('an unreadable ini is an error page that says so', async () => {
    // Wine runs as root here, so file modes do not stop it: a folder in the ini's place
    // cannot be read either (CreateFile: access denied).
    const stack = await stackOf({
      upstream: upstream.origin,
      ini: false,
      prepare: (dir) => mkdirSync(join(dir, 'kallithea-isapi.ini')),
    });
    const res = await firstAnswer(stack, '/unreadable-ini');
    assert.equal(res.status, 500);
    assert.match(res.body.toString(), /the configuration file cannot be read/);
  });

  it('a log that cannot be written: the bridge still runs, error pages say why the log is silent', async () => {
    // A folder stands in the log file's place: it cannot be opened for writing.
    const logDir = join(tmpdir(), `kallithea-isapi-log-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    const working = await stackOf({ upstream: upstream.origin, isapi: [`log_file = ${logDir}`] });
    assert.equal((await firstAnswer(working, '/log-unwritable')).status, 200);
    const broken = await stackOf({
      upstream: upstream.origin,
      isapi: [`log_file = ${logDir}`, `node = ${join(working.dir, 'no-such-node.exe')}`],
    });
    const res = await firstAnswer(broken, '/log-unwritable-error');
    assert.ok(res.status >= 500, String(res.status));
    assert.match(res.body.toString(), /cannot write its log file/);
  });

  it("starts node through a launcher shim (the pipe is served by the shim's child)", async () => {
    const shimSource = process.env['KALLITHEA_ISAPI_WIN_SHIM'];
    assert.ok(shimSource !== undefined && shimSource !== '', 'KALLITHEA_ISAPI_WIN_SHIM is not set');
    const shimDir = join(tmpdir(), `kallithea-isapi-shim-${process.pid}`);
    mkdirSync(shimDir, { recursive: true });
    const shim = join(shimDir, 'node.exe');
    copyFileSync(shimSource, shim);
    writeFileSync(`${shim}.target`, process.execPath);
    const stack = await stackOf({ upstream: upstream.origin, node: shim });
    await waitForBridge(stack);
    const res = await fetchBuffer(stack.url('/through-a-shim'));
    assert.equal(res.status, 200);
    assert.equal([...stack.log().matchAll(/bridge ready/g)].length, 1, stack.log());
  });

  it('a burst of 200 new connections gets no 502 or 503', async () => {
    const stack = await stackOf({ upstream: upstream.origin });
    await waitForBridge(stack);
    const statuses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => fetchBuffer(stack.url(`/burst/${i}`)).then((r) => r.status)),
    );
    const counts = new Map<number, number>();
    for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
    assert.deepEqual([...counts], [[200, 200]]);
  });

  it('reports no ISAPI contract violation', () => {
    for (const stack of stacks) assert.deepEqual(stack.running.host.violations(), []);
  });
});
