// `kallithea-isapi serve` itself: it refuses a virtual directory that my.ini's prefix filter
// does not match (either way), and on SIGTERM it stops the host and the extension (which
// stops the bridge, which stops its Kallithea workers), removes its private
// kallithea-isapi.ini, and exits 0, leaving no worker behind.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  bridgePattern,
  findDescendant,
  findDescendants,
  spawnExtraServe,
  workerPattern,
  kallithea,
  repoRoot,
} from '../support/kallithea.js';
import { alive } from '../support/processes.js';
import { run } from '../support/vcs.js';

const cli = join(repoRoot, 'bin', 'kallithea-isapi.js');

describe('kallithea-isapi serve', function () {
  this.timeout(180_000);

  it('refuses /kallithea without the prefix filter, and / with it', async function () {
    const k = kallithea();
    const noPrefix = await run(
      process.execPath,
      [cli, 'serve', '-c', join(k.dir, 'my.ini'), '--virtualdir', '/kallithea', '--port', '0'],
      { cwd: repoRoot, env: process.env },
    );
    assert.equal(noPrefix.code, 1);
    assert.match(noPrefix.stderr, /has no prefix filter, but IIS serves Kallithea under \/kallithea/);
    assert.match(noPrefix.stderr, /filter-with = proxy-prefix/);
    const withPrefix = await run(
      process.execPath,
      [cli, 'serve', '-c', join(k.dir, 'my-vdir.ini'), '--port', '0'],
      {
        cwd: repoRoot,
        env: process.env,
      },
    );
    assert.equal(withPrefix.code, 1);
    assert.match(withPrefix.stderr, /has a prefix filter .* but IIS serves Kallithea at the site root/);
  });

  it('stops everything on SIGTERM and exits 0', async function () {
    const k = kallithea();
    // A third serve on the same database.
    const extra = await spawnExtraServe(k, 'my-lifecycle.ini', ['--workers', '2']);
    const { serve } = extra;
    try {
      const url = await extra.ready;
      const stdout = extra.stdout();
      assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/, extra.stderr());
      assert.match(stdout, /CORP\\alice, CORP\\dave/);
      const dllLog = /DLL log: (\S+)/.exec(stdout)?.[1] as string;
      const privateDir = dirname(dllLog);
      assert.ok(existsSync(join(privateDir, 'kallithea-isapi.ini')));
      const workers = await findDescendants(serve.pid as number, workerPattern);
      const bridge = await findDescendant(serve.pid as number, bridgePattern);
      assert.ok(bridge !== undefined, 'the bridge runs under serve');
      assert.equal(workers.length, 2, 'two Kallithea workers (--workers 2) run under the bridge');

      serve.kill('SIGTERM');
      assert.equal(await extra.exited, 0, extra.stderr());
      const stderr = extra.stderr();
      assert.match(
        stderr,
        /stopping \(host, then the extension, which stops the bridge and its Kallithea workers\)/,
      );
      assert.match(stderr, /serve: stopped/);
      assert.deepEqual(workers.filter(alive), [], 'a Kallithea worker still runs');
      assert.equal(alive(bridge), false, 'the bridge still runs');
      assert.equal(existsSync(privateDir), false, 'the private ini folder is left behind');
    } finally {
      if (serve.exitCode === null) serve.kill('SIGKILL');
    }
  });
});
