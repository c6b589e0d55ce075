// Mercurial (Debian's hg) through the whole path with a Kallithea account's Basic
// credentials: bob clones, commits, pushes; a second clone pulls the change. At the site
// root and under the /kallithea virtual directory.
import { strict as assert } from 'node:assert';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { accounts, kallithea } from '../support/kallithea.js';
import { clientDir, clientEnv, hg, repoUrl, runOk } from '../support/vcs.js';

describe('Kallithea: hg clone, commit, push, pull as bob', function () {
  this.timeout(180_000);
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  for (const which of ['root', 'vdir'] as const) {
    it(`${which}: a pushed changeset reaches the repository and another clone's pull`, async function () {
      const k = kallithea();
      const dir = await clientDir(`hg-${which}`);
      dirs.push(dir);
      const env = clientEnv(dir);
      const url = repoUrl(k[which].url, 'hgrepo', accounts.bob.user, accounts.bob.password);
      const clone = await runOk('hg', ['--noninteractive', 'clone', url, 'a'], { cwd: dir, env });
      assert.match(clone.stdout, /updating to branch default/);
      await runOk('hg', ['--noninteractive', 'clone', url, 'b'], { cwd: dir, env });

      const text = `pushed through ${which} at ${new Date().toISOString()}\n`;
      await writeFile(join(dir, 'a', `${which}.txt`), text);
      await runOk('hg', ['add', `${which}.txt`], { cwd: join(dir, 'a'), env });
      await runOk('hg', ['commit', '-m', `add ${which}.txt`], { cwd: join(dir, 'a'), env });
      const push = await hg(['push', url], { cwd: join(dir, 'a'), env });
      assert.equal(push.code, 0, push.stderr);
      assert.match(push.stdout, /added 1 changesets with 1 changes to 1 files/);
      const local = (
        await runOk('hg', ['id', '-i', '-r', 'tip'], { cwd: join(dir, 'a'), env })
      ).stdout.trim();

      // The repository on disk has it.
      const server = await runOk('hg', ['log', '-r', 'tip', '-T', '{node|short}'], {
        cwd: join(k.reposDir, 'hgrepo'),
        env,
      });
      assert.equal(server.stdout.trim(), local);

      const pull = await hg(['pull', '-u', url], { cwd: join(dir, 'b'), env });
      assert.equal(pull.code, 0, pull.stderr);
      assert.match(pull.stdout, /added 1 changesets/);
      const pulled = await runOk('hg', ['cat', '-r', 'tip', `${which}.txt`], { cwd: join(dir, 'b'), env });
      assert.equal(pulled.stdout, text);
    });
  }
});
