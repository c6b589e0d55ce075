// A chunked request body from curl: the host de-chunks it, reports cbTotalBytes
// 0xFFFFFFFF, and ends with TRUE/0 (sync) or cbIO 0 (async). The fixtures answer with
// their own chunk framing, which must reach curl intact.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startHost, toolEnv, type RunningHost } from './support/harness.js';

const run = promisify(execFile);

for (const name of ['echo_sync', 'echo_async_read']) {
  describe(`isapi-host chunked upload with curl (${name})`, () => {
    let running: RunningHost;
    let dir: string;
    before(async () => {
      running = await startHost(name);
      dir = mkdtempSync(join(tmpdir(), 'isapi-host-chunked-'));
    });
    after(async () => {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('echoes a 3 MiB chunked body', async () => {
      const body = randomBytes(3 * 1024 * 1024 + 17);
      const file = join(dir, 'body.bin');
      writeFileSync(file, body);
      const { stdout } = await run(
        'curl',
        [
          '-sS',
          '-H',
          'Transfer-Encoding: chunked',
          '--data-binary',
          `@${file}`,
          '-D',
          join(dir, 'headers'),
          running.url('/kallithea/up'),
        ],
        { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, env: toolEnv() },
      );
      assert.equal(
        createHash('sha256').update(stdout).digest('hex'),
        createHash('sha256').update(body).digest('hex'),
      );
      assert.deepEqual(running.host.violations(), []);
    });
  });
}
