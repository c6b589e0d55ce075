// Real Kallithea on 2 workers (serve --workers 2 --max-workers 3): two long git clones at
// once and a summary page. The clones are git's upload-pack POST sent by a client that stops
// reading once the response starts, so each keeps its worker (and its git upload-pack) as
// long as the test wants, with a repository only a few times the buffers on the way. The
// first clone takes a worker; the second may not take the last one (the reserve), so the
// bridge starts an extra worker for it; the page is answered while both clones are still in
// flight. Then both clones read to the end, and once the extra worker has been idle for the
// idle timeout (2 s here) it is stopped: the pool is back to its 2 first workers.
// Without the extra worker and the reserve, the page would wait for a clone to end, which
// never happens while the clients do not read: the test would time out.
import { strict as assert } from 'node:assert';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  accounts,
  findDescendant,
  kallithea,
  outDir,
  servedWorkers,
  spawnExtraServe,
  type ExtraServe,
} from '../support/kallithea.js';
import { clientDir, clientEnv } from '../support/vcs.js';
import { bigGitRepo, MiB, startClone, until } from './support/clones.js';
import { basic, get } from './support/http.js';

const GIT_BYTES = 64 * MiB;
const bob = basic(accounts.bob.user, accounts.bob.password);
const alice = { Authorization: basic(accounts.alice.user, accounts.alice.password) };

/** Workers of `serve` that run git upload-pack (for a clone) now. */
async function cloning(serve: ExtraServe): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await servedWorkers(serve)) {
    if ((await findDescendant(pid, /upload-pack/)) !== undefined) found.push(pid);
  }
  return found;
}

describe('Kallithea: extra workers while clones hold the workers', function () {
  this.timeout(600_000);
  let dir = '';
  let head = '';
  before(async function () {
    const k = kallithea();
    dir = await clientDir('worker-pool-elastic');
    head = await bigGitRepo(
      { reposDir: k.reposDir, createRepo: k.createRepo },
      'elastic-git',
      GIT_BYTES,
      dir,
      clientEnv(dir),
    );
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('two clones on 2 workers: a page is answered while both run, the extra worker stops once idle', async function () {
    const k = kallithea();
    const dllLog = join(outDir, 'dll-elastic.log');
    await rm(dllLog, { force: true });
    const extra = await spawnExtraServe(k, 'my-elastic.ini', [
      '--workers',
      '2',
      '--max-workers',
      '3',
      '--worker-idle-timeout',
      '2',
      '--dll-log',
      dllLog,
    ]);
    const { serve } = extra;
    try {
      const url = await extra.ready;
      assert.ok(url !== undefined, extra.stderr().slice(-2000));
      const base = await servedWorkers(extra);
      assert.equal(base.length, 2);
      const packUrl = new URL('elastic-git/git-upload-pack', url).toString();

      const first = await startClone(packUrl, head, bob);
      await until('the first clone holds a worker', async () => (await cloning(extra)).length === 1);
      const second = await startClone(packUrl, head, bob);
      await until('both clones hold a worker', async () => (await cloning(extra)).length === 2);
      const during = await servedWorkers(extra);
      assert.equal(during.length, 3, 'an extra worker was started for the second clone');

      const page = await get(new URL('gitrepo', url).toString(), alice);
      assert.equal(page.status, 200, page.body.slice(0, 300));
      assert.match(page.body, /gitrepo/);
      // Both clones are still in flight: neither response has ended, both still run git.
      for (const clone of [first, second]) assert.equal(clone.response.complete, false);
      assert.equal((await cloning(extra)).length, 2, 'both clones still hold their workers');

      const packs = await Promise.all([first.finish(), second.finish()]);
      for (const [i, pack] of packs.entries()) {
        assert.equal([first, second][i]?.response.statusCode, 200);
        assert.equal(pack.subarray(0, 12).toString('latin1'), '0008NAK\nPACK', 'a pack follows');
        assert.ok(pack.length > GIT_BYTES, `the whole pack: ${pack.length} bytes`);
      }

      await until('the extra worker stopped', async () => (await servedWorkers(extra)).length === 2, 30_000);
      assert.deepEqual((await servedWorkers(extra)).sort(), [...base].sort(), 'the first 2 workers stay');
      const log = await readFile(dllLog, 'utf8');
      assert.match(log, /worker w3 starting, an extra one/);
      assert.match(log, /"POST \/elastic-git\/git-upload-pack" 200 \d+ \d+ms worker=w3$/m);
      assert.match(log, /"POST \/elastic-git\/git-upload-pack" 200 \d+ \d+ms worker=w2$/m);
      assert.match(log, /"GET \/gitrepo" 200 \d+ \d+ms worker=w1$/m);
      assert.match(log, /worker w3 idle for 2 s: stopping it/);
    } finally {
      if (serve.exitCode === null) serve.kill('SIGTERM');
      await extra.exited;
    }
  });
});
