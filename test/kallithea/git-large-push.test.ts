// A git push whose pack is over 100 MiB goes chunked (it is larger than http.postBuffer)
// through the whole path, and leaves the repository exactly as the same push straight to
// Kallithea's own port does: same refs, same objects, git fsck clean.
import { strict as assert } from 'node:assert';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { accounts, kallithea, outDir } from '../support/kallithea.js';
import { clientDir, clientEnv, git, repoUrl, runOk, writePseudoRandomFiles } from '../support/vcs.js';

const MiB = 1024 * 1024;

describe('Kallithea: git push of a >100 MiB pack', function () {
  this.timeout(300_000);
  let dir = '';
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('is sent chunked and stores the same refs and objects as a direct push', async function () {
    const k = kallithea();
    await k.createRepo('git-large-path', 'git');
    await k.createRepo('git-large-direct', 'git');
    dir = await clientDir('git-large');
    const env = clientEnv(dir);
    const work = join(dir, 'w');
    await runOk('git', ['init', '-q', '-b', 'main', work], { cwd: dir, env });
    // Big blobs skip git's own delta search, which would take most of the test's time.
    await runOk('git', ['config', 'core.bigFileThreshold', '1m'], { cwd: work, env });
    for (let commit = 0; commit < 2; commit++) {
      await writePseudoRandomFiles(work, `git${commit}`, 4, 14 * MiB);
      await runOk('git', ['add', '.'], { cwd: work, env });
      await runOk('git', ['commit', '-q', '-m', `data ${commit}`], { cwd: work, env });
    }
    await runOk('git', ['branch', 'side', 'HEAD~1'], { cwd: work, env });

    const pushTo = async (base: string, repo: string): Promise<string> => {
      const url = repoUrl(base, repo, accounts.bob.user, accounts.bob.password);
      const push = await git(['-c', 'http.postBuffer=1048576', 'push', url, 'main', 'side'], {
        cwd: work,
        env: { ...env, GIT_TRACE_CURL: '1', GIT_TRACE_CURL_NO_DATA: '1' },
      });
      assert.equal(push.code, 0, push.stderr.slice(-3000));
      return push.stderr;
    };
    const trace = await pushTo(k.root.url, 'git-large-path');
    await writeFile(join(outDir, 'git-large-push.trace'), trace);
    await pushTo(k.direct, 'git-large-direct');

    // git probes with a 4-byte POST, then sends the pack chunked, with no Content-Length.
    const posts = [
      ...trace.matchAll(/=> Send header: POST \/git-large-path\/git-receive-pack[\s\S]*?=> Send header:\n/g),
    ].map((m) => m[0]);
    const packPost = posts.find((block) => /Transfer-Encoding: chunked/.test(block));
    assert.ok(packPost !== undefined, `no chunked receive-pack POST among ${posts.length} in the trace`);
    assert.doesNotMatch(packPost, /Content-Length/);
    assert.match(trace, /Signaling end of chunked upload via terminating chunk/);

    const facts = async (repo: string): Promise<{ refs: string; objects: string }> => {
      const cwd = join(k.reposDir, repo);
      const refs = (await runOk('git', ['for-each-ref', '--format=%(objectname) %(refname)'], { cwd, env }))
        .stdout;
      const objects = (await runOk('git', ['rev-list', '--objects', '--all'], { cwd, env })).stdout
        .split('\n')
        .sort()
        .join('\n');
      const fsck = await git(['fsck', '--full', '--strict'], { cwd, env });
      assert.equal(fsck.code, 0, `${repo}: ${fsck.stdout}${fsck.stderr}`);
      return { refs, objects };
    };
    const viaPath = await facts('git-large-path');
    const direct = await facts('git-large-direct');
    assert.match(viaPath.refs, /refs\/heads\/main\n/);
    assert.match(viaPath.refs, /refs\/heads\/side\n/);
    assert.equal(viaPath.refs, direct.refs);
    assert.equal(viaPath.objects, direct.objects);
    const local = (await runOk('git', ['rev-parse', 'main'], { cwd: work, env })).stdout.trim();
    assert.match(viaPath.refs, new RegExp(`^${local} refs/heads/main$`, 'm'));
  });
});
