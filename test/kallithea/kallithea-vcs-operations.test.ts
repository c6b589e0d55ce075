// A subset of Kallithea's own kallithea/tests/other/test_vcs_operations.py (0.7.0), HTTP
// cases, re-expressed against the whole path (isapi-host -> DLL -> bridge -> Kallithea)
// with the same client commands and the same expectations on their output. Each test names
// the original. Differences: Kallithea's test users (test_admin, test_regular) are this
// instance's admin and carol; its forks are fresh repositories made through the JSON API;
// the UserLog action checks (database reads in the test process) are left out; the push to
// a wrong URL carries credentials, since serve prompts for a login when there are none.
import { strict as assert } from 'node:assert';
import { appendFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { accounts, kallithea } from '../support/kallithea.js';
import { clientDir, clientEnv, repoUrl, run, runOk, type RunResult } from '../support/vcs.js';

type Vcs = 'hg' | 'git';
const mainRepo: Record<Vcs, string> = { hg: 'hgrepo', git: 'gitrepo' };

describe("Kallithea's test_vcs_operations (HTTP subset) through the whole path", function () {
  this.timeout(180_000);
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  let counter = 0;
  const forks: Record<Vcs, string> = { hg: 'vcs-ops-fork-hg', git: 'vcs-ops-fork-git' };

  before(async function () {
    dir = await clientDir('vcs-ops');
    env = clientEnv(dir, { EMAIL: 'me@example.com' });
    const k = kallithea();
    await k.createRepo(forks.hg, 'hg');
    await k.createRepo(forks.git, 'git');
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const url = (repo: string, user = accounts.admin.user, password = accounts.admin.password): string =>
    repoUrl(kallithea().root.url, repo, user, password);
  const tmpDir = async (): Promise<string> => {
    const path = join(dir, `vcs_operations-${counter++}`);
    await mkdir(path);
    return path;
  };
  const execute = (cwd: string, command: string, ...args: string[]): Promise<RunResult> =>
    run(command, command === 'hg' ? ['--noninteractive', ...args] : args, { cwd, env });

  /** _add_files + _add_files_and_push: one file, three commits, pushed with --verbose. */
  async function addFilesAndPush(vcs: Vcs, dest: string, cloneUrl: string): Promise<RunResult> {
    const file = `${counter++}setup.py`;
    await appendFile(join(dest, file), '');
    await runOk(vcs, ['add', file], { cwd: dest, env });
    for (let i = 0; i < 3; i++) {
      await appendFile(join(dest, file), `added_line${i}\n`);
      const author = 'User ǝɯɐᴎ <me@example.com>';
      await runOk(
        vcs,
        vcs === 'hg'
          ? ['commit', '-m', `committed new ${i}`, '-u', author, file]
          : ['commit', '-m', `committed new ${i}`, '--author', author, file],
        { cwd: dest, env },
      );
    }
    return vcs === 'hg'
      ? execute(dest, 'hg', 'push', '-f', '--verbose', cloneUrl)
      : execute(dest, 'git', 'push', '-f', '--verbose', cloneUrl, 'master');
  }

  function checkProperGitPush(result: RunResult): void {
    assert.doesNotMatch(result.stderr, /fatal/);
    assert.doesNotMatch(result.stderr, /rejected/);
    assert.match(result.stderr, /Pushing to/);
    assert.match(result.stderr, /master -> master/);
  }

  for (const vcs of ['hg', 'git'] as const) {
    it(`test_clone_repo_by_admin [${vcs}]`, async function () {
      const result = await execute(dir, vcs, 'clone', url(mainRepo[vcs]), await tmpDir());
      assert.equal(result.code, 0, result.stderr);
      if (vcs === 'git') {
        assert.match(result.stdout + result.stderr, /Cloning into/);
        assert.ok(result.stderr === '' || result.stdout === '');
      } else {
        for (const line of [
          'requesting all changes',
          'adding changesets',
          'adding manifests',
          'adding file changes',
        ]) {
          assert.ok(result.stdout.includes(line), `${line} missing in ${result.stdout}`);
        }
        assert.equal(result.stderr, '');
      }
    });

    it(`test_clone_wrong_credentials [${vcs}]`, async function () {
      const cloneUrl = url(mainRepo[vcs], accounts.admin.user, 'bad!');
      const result = await execute(dir, vcs, 'clone', cloneUrl, await tmpDir());
      assert.match(
        result.stderr,
        vcs === 'git' ? /fatal: Authentication failed/ : /abort: authorization failed/,
      );
    });

    it(`test_clone_non_existing_path [${vcs}]`, async function () {
      const result = await execute(dir, vcs, 'clone', url('trololo'), await tmpDir());
      assert.match(result.stderr, vcs === 'git' ? /not found/ : /HTTP Error 404: Not Found/);
    });

    it(`test_push_new_file [${vcs}]`, async function () {
      const dest = await tmpDir();
      await runOk(vcs, ['clone', url(mainRepo[vcs]), dest], { cwd: dir, env });
      const result = await addFilesAndPush(vcs, dest, url(forks[vcs]));
      assert.equal(result.code, 0, result.stderr);
      if (vcs === 'git') checkProperGitPush(result);
      else {
        assert.match(result.stdout, /pushing to/);
        assert.match(result.stdout, /Repository size/);
        assert.match(result.stdout, /Last revision is now/);
      }
    });

    it(`test_pull [${vcs}]`, async function () {
      const dest = await tmpDir();
      await runOk(vcs, ['init', dest], { cwd: dir, env });
      const cloneUrl = url(mainRepo[vcs]);
      const pull = await execute(dest, vcs, 'pull', cloneUrl);
      if (vcs === 'git') assert.match(pull.stderr, /FETCH_HEAD/);
      else assert.match(pull.stdout, /new changesets/);

      // URLs with extra '/' around the repository name.
      const dotted = await execute(
        dest,
        vcs,
        'pull',
        cloneUrl.replace(`/${mainRepo[vcs]}`, `/./${mainRepo[vcs]}/`),
      );
      if (vcs === 'git') assert.match(dotted.stdout, /Already up to date\./);
      else assert.match(dotted.stderr, /abort: HTTP Error 404: Not Found/);

      const slashed = await execute(
        dest,
        vcs,
        'pull',
        cloneUrl.replace(`/${mainRepo[vcs]}`, `/${mainRepo[vcs]}/`),
      );
      if (vcs === 'git') assert.match(slashed.stdout, /Already up to date\./);
      else assert.match(slashed.stdout, /no changes found/);
      for (const text of [slashed.stdout, slashed.stderr]) assert.doesNotMatch(text, /denied/);
      assert.doesNotMatch(slashed.stdout, /404/);
    });

    it(`test_push_wrong_credentials [${vcs}]`, async function () {
      const dest = await tmpDir();
      await runOk(vcs, ['clone', url(mainRepo[vcs]), dest], { cwd: dir, env });
      const result = await addFilesAndPush(vcs, dest, url(mainRepo[vcs], 'bad', 'name'));
      assert.match(
        result.stderr,
        vcs === 'git' ? /fatal: Authentication failed/ : /abort: authorization failed/,
      );
    });

    it(`test_push_with_readonly_credentials [${vcs}]`, async function () {
      const dest = await tmpDir();
      const cloneUrl = url(mainRepo[vcs], accounts.carol.user, accounts.carol.password);
      await runOk(vcs, ['clone', cloneUrl, dest], { cwd: dir, env });
      const result = await addFilesAndPush(vcs, dest, cloneUrl);
      assert.match(
        result.stderr,
        vcs === 'git' ? /The requested URL returned error: 403/ : /abort: HTTP Error 403: Forbidden/,
      );
    });

    it(`test_push_back_to_wrong_url [${vcs}]`, async function () {
      const dest = await tmpDir();
      await runOk(vcs, ['clone', url(mainRepo[vcs]), dest], { cwd: dir, env });
      const result = await addFilesAndPush(vcs, dest, url('tmp'));
      assert.match(result.stderr, vcs === 'git' ? /not found/ : /HTTP Error 404: Not Found/);
    });
  }

  it('test_clone_git_dir_as_hg', async function () {
    const result = await execute(dir, 'hg', 'clone', url(mainRepo.git), await tmpDir());
    assert.ok(
      /HTTP Error 404: Not Found/.test(result.stderr) ||
        (/not a valid repository/.test(result.stdout) && /abort:/.test(result.stderr)),
      result.stdout + result.stderr,
    );
  });

  it('test_clone_hg_repo_as_git', async function () {
    const result = await execute(dir, 'git', 'clone', url(mainRepo.hg), await tmpDir());
    assert.match(result.stderr, /not found/);
  });
});
