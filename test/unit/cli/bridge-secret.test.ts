// Issue 8: the bridge takes the hop secret out of its environment as it reads it, so
// nothing it starts later (a Kallithea worker, a hook) inherits it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecret } from '../../../lib/cli/commands/bridge.js';

function childSees(name: string): string {
  return execFileSync(process.execPath, ['-e', `process.stdout.write(String(process.env.${name}))`], {
    encoding: 'utf8',
  });
}

describe('bridge: the hop secret leaves the environment once read', () => {
  afterEach(() => {
    delete process.env.KALLITHEA_ISAPI_SECRET;
    delete process.env.KALLITHEA_ISAPI_SECRET_FILE;
  });

  it('from KALLITHEA_ISAPI_SECRET: read, then gone for this process and its children', async () => {
    process.env.KALLITHEA_ISAPI_SECRET = 'f00dfeedcafe';
    assert.equal(await readSecret(), 'f00dfeedcafe');
    assert.equal(process.env.KALLITHEA_ISAPI_SECRET, undefined);
    assert.equal(childSees('KALLITHEA_ISAPI_SECRET'), 'undefined');
  });

  it('from KALLITHEA_ISAPI_SECRET_FILE: read, and the pointer to it gone too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kisapi-secret-'));
    try {
      await writeFile(join(dir, 'secret'), 'beefbeef\n');
      process.env.KALLITHEA_ISAPI_SECRET_FILE = join(dir, 'secret');
      assert.equal(await readSecret(), 'beefbeef');
      assert.equal(childSees('KALLITHEA_ISAPI_SECRET_FILE'), 'undefined');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
