// `kallithea-isapi serve` itself: it refuses a virtual directory that my.ini's prefix filter
// does not match (either way), and on SIGTERM it stops the host, the extension (which stops
// the bridge) and Kallithea, removes its private kallithea-isapi.ini, and exits 0.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  bridgePattern,
  findDescendant,
  freePort,
  gearboxPattern,
  kallithea,
  repoRoot,
  windowsUsersFile,
} from '../support/kallithea.js';
import { run } from '../support/vcs.js';

const cli = join(repoRoot, 'bin', 'kallithea-isapi.js');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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
    // A third Kallithea on the same database, on a port of its own.
    const config = join(k.dir, 'my-lifecycle.ini');
    const text = await readFile(join(k.dir, 'my.ini'), 'utf8');
    await writeFile(config, text.replace(/^port = \d+$/m, `port = ${await freePort()}`));
    const serve = spawn(
      process.execPath,
      [cli, 'serve', '-c', config, '--port', '0', '--users', windowsUsersFile, '-q'],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    serve.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    serve.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => serve.once('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 1200 && !/ready at/.test(stdout); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.match(stdout, /ready at http:\/\/127\.0\.0\.1:\d+\//, stderr);
      assert.match(stdout, /CORP\\alice, CORP\\dave/);
      const dllLog = /DLL log: (\S+)/.exec(stdout)?.[1] as string;
      const privateDir = dirname(dllLog);
      assert.ok(existsSync(join(privateDir, 'kallithea-isapi.ini')));
      const gearbox = await findDescendant(serve.pid as number, gearboxPattern);
      const bridge = await findDescendant(serve.pid as number, bridgePattern);
      assert.ok(gearbox !== undefined && bridge !== undefined, 'gearbox and bridge run under serve');

      serve.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /stopping \(host, extension and bridge, then Kallithea\)/);
      assert.match(stderr, /serve: stopped/);
      assert.equal(alive(gearbox), false, 'Kallithea still runs');
      assert.equal(alive(bridge), false, 'the bridge still runs');
      assert.equal(existsSync(privateDir), false, 'the private ini folder is left behind');
    } finally {
      if (serve.exitCode === null) serve.kill('SIGKILL');
    }
  });
});
