// A clone larger than the processes' memory bounds streams: while git clones a ~300 MiB
// repository through the whole path, the peak RSS (VmHWM, reset just before) of the
// isapi-host process (`kallithea-isapi serve`) and of the bridge it started stays bounded.
// Meanwhile the status page (read anonymously from this machine, as `kallithea-isapi status`
// does) shows the clone in flight in the DLL, the bridge and a busy Kallithea worker.
import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  accounts,
  bridgePattern,
  findDescendant,
  kallithea,
  memory,
  resetPeak,
} from '../support/kallithea.js';
import { clientDir, clientEnv, git, repoUrl, runOk, writePseudoRandomFiles } from '../support/vcs.js';

const MiB = 1024 * 1024;

interface StatusSeen {
  dllInFlight: number;
  bridgeInFlight: number;
  busyWorkers: number;
}

/** Reads the status page's JSON until `done` settles; the most each figure showed at once. */
async function watchStatus(base: string, done: Promise<unknown>): Promise<StatusSeen> {
  const seen: StatusSeen = { dllInFlight: 0, bridgeInFlight: 0, busyWorkers: 0 };
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    const response = await fetch(new URL('~kallithea-isapi/status?format=json', base));
    assert.equal(response.status, 200);
    const status = (await response.json()) as {
      dll: { requestsInFlight: number } | null;
      bridge: { requestsInFlight: number; workers: Array<{ busy: boolean }> };
    };
    seen.dllInFlight = Math.max(seen.dllInFlight, status.dll?.requestsInFlight ?? 0);
    seen.bridgeInFlight = Math.max(seen.bridgeInFlight, status.bridge.requestsInFlight);
    seen.busyWorkers = Math.max(seen.busyWorkers, status.bridge.workers.filter((w) => w.busy).length);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return seen;
}
const REPO_BYTES = 300 * MiB;
const BOUND = 200 * MiB;

describe('Kallithea: a large clone streams through the path', function () {
  this.timeout(300_000);
  let dir = '';
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it(`clones ${REPO_BYTES / MiB} MiB with host and bridge VmHWM under ${BOUND / MiB} MiB`, async function () {
    const k = kallithea();
    await k.createRepo('git-stream', 'git');
    dir = await clientDir('git-stream');
    const env = clientEnv(dir);
    // Filled straight on disk (a local push), so only the clone goes through the path. Big
    // blobs skip git's delta search (bigFileThreshold) and the pushed pack is kept as it is
    // (unpackLimit), as in a packed repository; otherwise git itself takes minutes.
    const serverRepo = join(k.reposDir, 'git-stream');
    await runOk('git', ['config', 'core.bigFileThreshold', '1m'], { cwd: serverRepo, env });
    await runOk('git', ['config', 'receive.unpackLimit', '1'], { cwd: serverRepo, env });
    const source = join(dir, 'source');
    await runOk('git', ['init', '-q', '-b', 'master', source], { cwd: dir, env });
    await runOk('git', ['config', 'core.bigFileThreshold', '1m'], { cwd: source, env });
    for (let commit = 0; commit < 3; commit++) {
      await writePseudoRandomFiles(source, `stream${commit}`, 5, REPO_BYTES / 15);
      await runOk('git', ['-c', 'core.compression=0', 'add', '.'], { cwd: source, env });
      await runOk('git', ['commit', '-q', '-m', `data ${commit}`], { cwd: source, env });
    }
    await runOk('git', ['-c', 'pack.compression=0', 'push', '-q', serverRepo, 'master'], {
      cwd: source,
      env,
    });
    const head = (await runOk('git', ['rev-parse', 'master'], { cwd: source, env })).stdout.trim();
    await rm(source, { recursive: true, force: true });

    const host = k.root.serve.pid as number;
    const bridge = await findDescendant(host, bridgePattern);
    assert.ok(bridge !== undefined, 'no bridge process under the host');
    await resetPeak(host);
    await resetPeak(bridge);

    const url = repoUrl(k.root.url, 'git-stream', accounts.bob.user, accounts.bob.password);
    const cloning = git(['-c', 'transfer.unpackLimit=1', 'clone', '-q', '--no-checkout', url, 'clone'], {
      cwd: dir,
      env,
    });
    const seen = await watchStatus(k.root.url, cloning);
    const clone = await cloning;
    assert.equal(clone.code, 0, clone.stderr);
    assert.ok(
      seen.dllInFlight >= 1 && seen.bridgeInFlight >= 1 && seen.busyWorkers >= 1,
      JSON.stringify(seen),
    );
    const hostPeak = (await memory(host)).hwm;
    const bridgePeak = (await memory(bridge)).hwm;
    const count = await runOk('git', ['count-objects', '-v'], { cwd: join(dir, 'clone'), env });
    const sizePack = Number(/^size-pack: (\d+)$/m.exec(count.stdout)?.[1]) * 1024;
    process.stdout.write(
      `      pack ${(sizePack / MiB).toFixed(0)} MiB; VmHWM host ${(hostPeak / MiB).toFixed(0)} MiB, ` +
        `bridge ${(bridgePeak / MiB).toFixed(0)} MiB\n`,
    );
    assert.ok(sizePack > BOUND, `the clone (${sizePack} bytes) should be larger than the bound`);
    await runOk('git', ['fsck', '--full'], { cwd: join(dir, 'clone'), env });
    const cloned = await runOk('git', ['rev-parse', 'origin/master'], { cwd: join(dir, 'clone'), env });
    assert.equal(cloned.stdout.trim(), head);
    assert.ok(hostPeak < BOUND, `isapi-host VmHWM ${hostPeak} bytes`);
    assert.ok(bridgePeak < BOUND, `bridge VmHWM ${bridgePeak} bytes`);
  });
});
