// Git smart HTTP through the whole path with bob's Basic credentials: clone, push a branch,
// fetch it into another clone, and see it in `git ls-remote`. At the root and under /kallithea.
import { strict as assert } from 'node:assert';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { accounts, kallithea } from '../support/kallithea.js';
import { clientDir, clientEnv, git, repoUrl, runOk } from '../support/vcs.js';

describe('Kallithea: git clone, push, fetch, ls-remote as bob', function () {
  this.timeout(180_000);
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  for (const which of ['root', 'vdir'] as const) {
    it(`${which}: a pushed branch reaches the repository, ls-remote and another clone`, async function () {
      const k = kallithea();
      const dir = await clientDir(`git-${which}`);
      dirs.push(dir);
      const env = clientEnv(dir);
      const url = repoUrl(k[which].url, 'gitrepo', accounts.bob.user, accounts.bob.password);
      const clone = await git(['clone', url, 'a'], { cwd: dir, env });
      assert.equal(clone.code, 0, clone.stderr);
      assert.match(clone.stderr, /Cloning into 'a'/);
      await runOk('git', ['clone', url, 'b'], { cwd: dir, env });

      const branch = `topic-${which}`;
      const a = join(dir, 'a');
      await runOk('git', ['checkout', '-b', branch], { cwd: a, env });
      await writeFile(join(a, `${which}.txt`), `pushed through ${which}\n`);
      await runOk('git', ['add', `${which}.txt`], { cwd: a, env });
      await runOk('git', ['commit', '-m', `add ${which}.txt`], { cwd: a, env });
      const head = (await runOk('git', ['rev-parse', 'HEAD'], { cwd: a, env })).stdout.trim();
      const push = await git(['push', 'origin', branch], { cwd: a, env });
      assert.equal(push.code, 0, push.stderr);
      assert.match(push.stderr, new RegExp(`\\* \\[new branch\\]\\s+${branch} -> ${branch}`));

      const onDisk = await runOk('git', ['rev-parse', `refs/heads/${branch}`], {
        cwd: join(k.reposDir, 'gitrepo'),
        env,
      });
      assert.equal(onDisk.stdout.trim(), head);

      const remote = await runOk('git', ['ls-remote', url], { cwd: dir, env });
      assert.match(remote.stdout, new RegExp(`^${head}\\trefs/heads/${branch}$`, 'm'));

      const fetch = await git(['fetch', 'origin'], { cwd: join(dir, 'b'), env });
      assert.equal(fetch.code, 0, fetch.stderr);
      const fetched = await runOk('git', ['rev-parse', `origin/${branch}`], { cwd: join(dir, 'b'), env });
      assert.equal(fetched.stdout.trim(), head);
    });
  }
});
