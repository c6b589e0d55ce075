// A bridge that exits at once: requests get a 503 page with Retry-After (never a hang or a
// crash), the log says why, and rapid-fail protection stops the restart loop.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, fetchBuffer } from '../native/support/harness.js';
import { startStack, type Stack } from './support/stack.js';

describe('e2e: bridge never starts', function () {
  this.timeout(60_000);
  let stack: Stack;
  const script = join(tmpdir(), `kallithea-isapi-failing-bridge-${process.pid}.js`);

  before(async () => {
    writeFileSync(script, "process.stderr.write('broken bridge: exiting\\n'); process.exit(3);\n");
    stack = await startStack({
      upstream: 'http://127.0.0.1:9',
      bridgeScript: script,
      isapi: ['rapid_fails_per_minute = 3', 'connect_timeout = 0.5'],
    });
  });
  after(async () => {
    await stack?.stop();
    rmSync(script, { force: true });
  });

  it('answers 503 with Retry-After and logs the rapid-fail stop', async () => {
    assert.ok(await eventually(() => /rapid_fails_per_minute/.test(stack.log()), 1500), stack.log());
    const res = await fetchBuffer(stack.url('/x'));
    assert.equal(res.status, 503);
    assert.ok(res.headers['retry-after'] !== undefined);
    assert.match(res.body.toString(), /bridge host/);
    const log = stack.log();
    assert.match(log, /bridge exited: pid \d+ \(exit code 3\)/);
    assert.match(log, /broken bridge: exiting/);
    // No crash loop: exactly rapid_fails_per_minute launches within the minute.
    await new Promise((done) => setTimeout(done, 1500));
    assert.equal([...stack.log().matchAll(/bridge starting: pid/g)].length, 3);
    assert.equal(stack.host.child.exitCode, null);
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(stack.violations(), []);
  });
});
