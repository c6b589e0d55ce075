// Kallithea killed (SIGKILL to its process group) while a git push is being uploaded: the
// client reports the failure, the repository keeps its refs, serve brings Kallithea back,
// and the same push then succeeds.
import { strict as assert } from 'node:assert';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { accounts, findDescendant, gearboxPattern, kallithea } from '../support/kallithea.js';
import { clientDir, clientEnv, git, repoUrl, runOk, writePseudoRandomFiles } from '../support/vcs.js';

const MiB = 1024 * 1024;

async function bytesRead(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/^rchar: (\d+)$/m.exec(io)?.[1]);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Kallithea: killed during a git push', function () {
  this.timeout(300_000);
  let dir = '';
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('the push fails, refs stay, and after the restart the same push succeeds', async function () {
    const k = kallithea();
    await k.createRepo('git-fault', 'git');
    dir = await clientDir('git-fault');
    const env = clientEnv(dir);
    const url = repoUrl(k.root.url, 'git-fault', accounts.bob.user, accounts.bob.password);
    const serverRepo = join(k.reposDir, 'git-fault');
    const work = join(dir, 'w');
    await runOk('git', ['init', '-q', '-b', 'master', work], { cwd: dir, env });
    await runOk('git', ['config', 'core.bigFileThreshold', '1m'], { cwd: work, env });
    await writePseudoRandomFiles(work, 'small', 1, 1024);
    await runOk('git', ['add', '.'], { cwd: work, env });
    await runOk('git', ['commit', '-q', '-m', 'first'], { cwd: work, env });
    await runOk('git', ['push', '-q', url, 'master'], { cwd: work, env });
    await writePseudoRandomFiles(work, 'fault', 8, 12 * MiB);
    await runOk('git', ['add', '.'], { cwd: work, env });
    await runOk('git', ['commit', '-q', '-m', 'big'], { cwd: work, env });
    const refs = async (): Promise<string> =>
      (await runOk('git', ['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: serverRepo, env }))
        .stdout;
    const before = await refs();
    assert.match(before, /refs\/heads\/master/);

    const serve = k.root.serve.pid as number;
    const gearbox = await findDescendant(serve, gearboxPattern);
    assert.ok(gearbox !== undefined, 'no gearbox under serve');
    const start = await bytesRead(gearbox);
    const pushing = git(['push', url, 'master'], { cwd: work, env });
    // Kill once Kallithea has read a quarter of the ~96 MiB pack: mid-upload, not after it.
    let killedAfter = 0;
    for (let i = 0; i < 1200; i++) {
      killedAfter = (await bytesRead(gearbox)) - start;
      if (killedAfter > 24 * MiB) break;
      await delay(25);
    }
    process.kill(-gearbox, 'SIGKILL');
    const failed = await pushing;
    assert.ok(killedAfter > 24 * MiB, `Kallithea read only ${killedAfter} bytes`);
    assert.notEqual(failed.code, 0, `the push should fail: ${failed.stderr}`);
    assert.match(failed.stderr, /error|fatal/i);
    assert.equal(await refs(), before);

    // serve restarts Kallithea; wait until a new gearbox answers.
    let restarted: number | undefined;
    for (let i = 0; i < 600 && restarted === undefined; i++) {
      await delay(100);
      const pid = await findDescendant(serve, gearboxPattern);
      if (pid !== undefined && pid !== gearbox) {
        const answer = await fetch(k.root.direct, { redirect: 'manual' }).catch(() => undefined);
        if (answer !== undefined) restarted = pid;
      }
    }
    assert.ok(restarted !== undefined, 'Kallithea did not come back');

    const again = await git(['push', url, 'master'], { cwd: work, env });
    assert.equal(again.code, 0, again.stderr);
    const head = (await runOk('git', ['rev-parse', 'master'], { cwd: work, env })).stdout.trim();
    assert.match(await refs(), new RegExp(`^${head} refs/heads/master$`, 'm'));
    const fsck = await git(['fsck', '--full'], { cwd: serverRepo, env });
    assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
  });
});
