// The Kallithea worker serving a git push killed (kill -9) while the push is being uploaded:
// the client reports the failure, the repository keeps its refs, the bridge brings the
// worker back, and the same push then succeeds.
import { strict as assert } from 'node:assert';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { accounts, kallithea, servedWorkers, workersBack } from '../support/kallithea.js';
import { clientDir, clientEnv, git, repoUrl, runOk, writePseudoRandomFiles } from '../support/vcs.js';

const MiB = 1024 * 1024;

async function bytesRead(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/^rchar: (\d+)$/m.exec(io)?.[1]);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Kallithea: the worker serving a git push killed', function () {
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

    const workers = await servedWorkers(k.root);
    assert.ok(workers.length >= 2, `workers under serve: ${workers.join(', ')}`);
    const start = new Map<number, number>();
    for (const pid of workers) start.set(pid, await bytesRead(pid));
    const pushing = git(['push', url, 'master'], { cwd: work, env });
    // Kill the worker that reads the pack once it has read a quarter of the ~96 MiB: mid-upload.
    let victim: number | undefined;
    let killedAfter = 0;
    for (let i = 0; i < 1200 && victim === undefined; i++) {
      for (const pid of workers) {
        const read = (await bytesRead(pid)) - (start.get(pid) as number);
        if (read > 24 * MiB) {
          victim = pid;
          killedAfter = read;
        }
      }
      if (victim === undefined) await delay(25);
    }
    assert.ok(victim !== undefined, 'no worker read the pack');
    process.kill(victim, 'SIGKILL');
    const failed = await pushing;
    assert.notEqual(failed.code, 0, `the push should fail: ${failed.stderr}`);
    assert.match(failed.stderr, /error|fatal/i);
    assert.ok(killedAfter > 24 * MiB);
    assert.equal(await refs(), before);

    // The bridge restarts that worker; the others were left alone.
    const now = await workersBack(k.root, workers, victim);
    assert.equal(now.length, workers.length, 'the worker did not come back');
    assert.deepEqual(
      workers.filter((pid) => pid !== victim),
      now.filter((pid) => workers.includes(pid)),
      'only the killed worker is restarted',
    );

    const again = await git(['push', url, 'master'], { cwd: work, env });
    assert.equal(again.code, 0, again.stderr);
    const head = (await runOk('git', ['rev-parse', 'master'], { cwd: work, env })).stdout.trim();
    assert.match(await refs(), new RegExp(`^${head} refs/heads/master$`, 'm'));
    const fsck = await git(['fsck', '--full'], { cwd: serverRepo, env });
    assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
  });
});
