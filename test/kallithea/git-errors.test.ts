// Git's authentication failure through the whole path: Kallithea's 401 with its Basic
// challenge reaches the client unchanged, and git reports the failure without prompting.
import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { accounts, kallithea } from '../support/kallithea.js';
import { clientDir, clientEnv, git, repoUrl } from '../support/vcs.js';
import { basic, get } from './support/http.js';

describe('Kallithea: git with wrong credentials', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  for (const which of ['root', 'vdir'] as const) {
    it(`${which}: 401 with Kallithea's challenge; clone and ls-remote fail`, async function () {
      const k = kallithea();
      const answer = await get(
        new URL('gitrepo/info/refs?service=git-upload-pack', k[which].url).toString(),
        {
          Authorization: basic(accounts.bob.user, 'wrong-password'),
        },
      );
      assert.equal(answer.status, 401);
      assert.equal(answer.headers['www-authenticate'], 'Basic realm="Kallithea"');

      const dir = await clientDir(`git-401-${which}`);
      dirs.push(dir);
      const env = clientEnv(dir);
      const url = repoUrl(k[which].url, 'gitrepo', accounts.bob.user, 'wrong-password');
      const clone = await git(['clone', url, 'c'], { cwd: dir, env });
      assert.notEqual(clone.code, 0);
      assert.match(clone.stderr, /fatal: Authentication failed/);
      const lsRemote = await git(['ls-remote', url], { cwd: dir, env });
      assert.notEqual(lsRemote.code, 0);
      assert.match(lsRemote.stderr, /fatal: Authentication failed/);
    });
  }
});
