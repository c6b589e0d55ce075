// Mercurial's failures through the whole path keep Kallithea's status codes: a wrong
// password gets 401 with Kallithea's Basic challenge (hg gives up, as it may not ask
// again), read-only carol's push gets 403 and changes nothing, a missing repository 404.
import { strict as assert } from 'node:assert';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { accounts, kallithea } from '../support/kallithea.js';
import { clientDir, clientEnv, hg, repoUrl, runOk } from '../support/vcs.js';
import { basic, get } from './support/http.js';

const capabilities = { Accept: 'application/mercurial-0.1' };

describe('Kallithea: hg errors', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  for (const which of ['root', 'vdir'] as const) {
    it(`${which}: a wrong password gets 401 and hg fails without asking`, async function () {
      const k = kallithea();
      const answer = await get(new URL('hgrepo?cmd=capabilities', k[which].url).toString(), {
        ...capabilities,
        Authorization: basic(accounts.bob.user, 'wrong-password'),
      });
      assert.equal(answer.status, 401);
      assert.equal(answer.headers['www-authenticate'], 'Basic realm="Kallithea"');

      const dir = await clientDir(`hg-401-${which}`);
      dirs.push(dir);
      const url = repoUrl(k[which].url, 'hgrepo', accounts.bob.user, 'wrong-password');
      const clone = await hg(['clone', url, 'c'], { cwd: dir, env: clientEnv(dir) });
      assert.notEqual(clone.code, 0);
      assert.match(clone.stderr, /abort: authorization failed/);
    });

    it(`${which}: read-only carol's push gets 403 and the repository keeps its tip`, async function () {
      const k = kallithea();
      const dir = await clientDir(`hg-403-${which}`);
      dirs.push(dir);
      const env = clientEnv(dir);
      const url = repoUrl(k[which].url, 'hgrepo', accounts.carol.user, accounts.carol.password);
      await runOk('hg', ['--noninteractive', 'clone', url, 'c'], { cwd: dir, env });
      const serverRepo = join(k.reposDir, 'hgrepo');
      const tip = async (): Promise<string> =>
        (await runOk('hg', ['log', '-r', 'tip', '-T', '{node}'], { cwd: serverRepo, env })).stdout;
      const before = await tip();
      await writeFile(join(dir, 'c', 'carol.txt'), 'not allowed\n');
      await runOk('hg', ['commit', '-A', '-m', 'carol'], { cwd: join(dir, 'c'), env });
      const push = await hg(['push', url], { cwd: join(dir, 'c'), env });
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /HTTP Error 403: Forbidden/);
      assert.equal(await tip(), before);
    });

    it(`${which}: a missing repository gets 404`, async function () {
      const k = kallithea();
      const answer = await get(new URL('no-such-repo?cmd=capabilities', k[which].url).toString(), {
        ...capabilities,
        Authorization: basic(accounts.bob.user, accounts.bob.password),
      });
      assert.equal(answer.status, 404);
      const dir = await clientDir(`hg-404-${which}`);
      dirs.push(dir);
      const url = repoUrl(k[which].url, 'no-such-repo', accounts.bob.user, accounts.bob.password);
      const clone = await hg(['clone', url, 'c'], { cwd: dir, env: clientEnv(dir) });
      assert.notEqual(clone.code, 0);
      assert.match(clone.stderr, /HTTP Error 404: Not Found/);
    });
  }
});
