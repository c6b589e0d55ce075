// A push of ~200 MiB of Mercurial history (incompressible files in four changesets) through
// the whole path: the repository on disk ends with the same tip and verifies.
import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { accounts, kallithea } from '../support/kallithea.js';
import { clientDir, clientEnv, hg, repoUrl, runOk, writePseudoRandomFiles } from '../support/vcs.js';

const MiB = 1024 * 1024;

describe('Kallithea: hg push of ~200 MiB of history', function () {
  this.timeout(300_000);
  let dir = '';
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('arrives whole: same tip on the server, hg verify passes', async function () {
    const k = kallithea();
    await k.createRepo('hg-large', 'hg');
    dir = await clientDir('hg-large');
    const env = clientEnv(dir);
    const url = repoUrl(k.root.url, 'hg-large', accounts.bob.user, accounts.bob.password);
    await runOk('hg', ['--noninteractive', 'clone', url, 'w'], { cwd: dir, env });
    const work = join(dir, 'w');
    for (let commit = 0; commit < 4; commit++) {
      // 5 files of 10 MiB each: under hg's large-file warning, 50 MiB per changeset.
      await writePseudoRandomFiles(work, `hg${commit}`, 5, 10 * MiB);
      await runOk('hg', ['add', '-q'], { cwd: work, env });
      await runOk('hg', ['commit', '-m', `data ${commit}`], { cwd: work, env });
    }
    const push = await hg(['push', url], { cwd: work, env });
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, /added 4 changesets with 20 changes to 20 files/);

    const local = (await runOk('hg', ['log', '-r', 'tip', '-T', '{node}'], { cwd: work, env })).stdout;
    const serverRepo = join(k.reposDir, 'hg-large');
    const server = (await runOk('hg', ['log', '-r', 'tip', '-T', '{node}'], { cwd: serverRepo, env })).stdout;
    assert.equal(server, local);
    const verify = await runOk('hg', ['verify'], { cwd: serverRepo, env });
    assert.match(verify.stdout + verify.stderr, /checked 4 changesets with 20 changes to 20 files/);
  });
});
