// Kallithea's state across the bridge's workers (2 here), as scenarios run against one
// database or another (worker-pool-state.test.ts: SQLite; worker-pool-postgres.test.ts:
// PostgreSQL). Sessions are beaker file sessions in my.ini's cache_dir (TurboGears sets
// session.data_dir = cache_dir/sessions), so a login made through one worker holds on the
// other; repositories, permissions and pushes live in the database and the repositories, so
// each worker sees a change made through the other at once; SQLite shared by the workers
// (busy timeout 60 s in the URL, WAL set by the instance script), like PostgreSQL, gives no
// "database is locked" or other database error under 60 s of concurrent pushes and page
// views; and kill -9 of the worker serving a clone fails that clone only, on either.
//
// Requests are sent in pairs: the router gives each of two overlapping requests its own
// worker (the first idle one is taken), and the access log, which names the worker, shows
// that both served.
import { strict as assert } from 'node:assert';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { accounts, servedWorkers, workersBack, type Served } from '../../support/kallithea.js';
import { clientDir, clientEnv, git, hg, repoUrl, runOk, writePseudoRandomFiles } from '../../support/vcs.js';
import { bigGitRepo, MiB, pagesDuring, workerServingClone, type RepoHome } from './clones.js';
import { basic, get, type SimpleResponse } from './http.js';

/** A served Kallithea instance with 2 workers. */
export interface StateTarget extends RepoHome {
  /** Through the whole path, ending in '/'. */
  readonly url: string;
  /** Its `kallithea-isapi serve` process (the workers are under it). */
  readonly served: Served;
  /** The DLL's log: the bridge's access log and the workers' output. */
  readonly accessLog: string;
  /** Every log to search for database errors (the access log among them). */
  readonly logs: readonly string[];
  readonly apiKey: string;
  api(method: string, args: Record<string, unknown>): Promise<unknown>;
}

/** How long the concurrent pushes and page views go on (the figure). */
const LOAD_SECONDS = 60;
/** Enough for the pack to be still on its way when its worker is killed. */
const KILLED_CLONE_BYTES = 64 * MiB;

export const alice = { Authorization: basic(accounts.alice.user, accounts.alice.password) };
/** Kallithea credentials are no Windows login: the host lets such a request through anonymously. */
export const notWindows = { Authorization: basic(accounts.bob.user, accounts.bob.password) };

let probe = 0;

/** GET path?probe=N twice at once; resolves with both answers and their probe numbers. */
async function pair(base: string, path: string, headers: Record<string, string>): Promise<SimpleResponse[]> {
  const separator = path.includes('?') ? '&' : '?';
  return Promise.all(
    [0, 1].map(() => {
      probe += 1;
      return get(new URL(`${path}${separator}probe=${probe}`, base).toString(), headers);
    }),
  );
}

/** The workers the access log names for requests whose target contains `marker`. */
async function workersServing(accessLog: string, marker: string): Promise<Set<string>> {
  const log = await readFile(accessLog, 'utf8');
  const workers = new Set<string>();
  for (const line of log.split('\n')) {
    if (!line.includes(marker)) continue;
    const worker = / worker=(w\d+)/.exec(line)?.[1];
    if (worker !== undefined) workers.add(worker);
  }
  return workers;
}

async function flushedLog(): Promise<void> {
  // The access log is written in batches at most 100 ms apart.
  await new Promise((done) => setTimeout(done, 300));
}

async function formLogin(base: string, user: string, password: string): Promise<string> {
  const form = await fetch(new URL('_admin/login', base), { headers: notWindows, redirect: 'manual' });
  const html = await form.text();
  const token = /name="_session_csrf_secret_token" type="hidden" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(token !== undefined, 'no CSRF token on the login form');
  const cookie = (form.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const answer = await fetch(new URL('_admin/login', base), {
    method: 'POST',
    headers: { ...notWindows, Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: user, password, _session_csrf_secret_token: token }).toString(),
    redirect: 'manual',
  });
  await answer.arrayBuffer();
  assert.equal(answer.status, 302, 'the login should redirect');
  return (answer.headers.get('set-cookie') ?? cookie).split(';')[0] as string;
}

export function stateScenarios(target: () => StateTarget): void {
  let dir = '';
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('CORP\\alice: 20 page views over both workers, logged in on each', async function () {
    const k = target();
    for (let i = 0; i < 10; i++) {
      for (const page of await pair(k.url, 'gitrepo?alice-views', alice)) {
        assert.equal(page.status, 200);
        assert.match(page.body, /<span class="menu_link_user">alice<\/span>/);
      }
    }
    await flushedLog();
    assert.deepEqual([...(await workersServing(k.accessLog, 'alice-views'))].sort(), ['w1', 'w2']);
  });

  it("a new Windows user's first two requests at once, one on each worker: both 200 (5 users over)", async function () {
    const k = target();
    const dave = { Authorization: basic(accounts.dave.user, accounts.dave.password) };
    const raced = async (): Promise<number> => {
      let count = 0;
      for (const file of k.logs)
        count += (await readFile(file, 'utf8')).split('raced another worker').length - 1;
      return count;
    };
    const racedBefore = await raced();
    for (let i = 0; i < 5; i++) {
      // Each time a new user: both workers find none and both create dave in Kallithea's
      // container plugin; the loser's IntegrityError (a 500 in Kallithea 0.7.0) is retried
      // by its worker (python/kallithea_worker.py), which then finds the user.
      await k.api('delete_user', { userid: accounts.dave.user }).catch(() => undefined);
      await assert.rejects(k.api('get_user', { userid: accounts.dave.user }), /does not exist/);
      for (const page of await pair(k.url, `gitrepo?dave-first-${i}`, dave)) {
        assert.equal(page.status, 200, page.body.slice(0, 2000));
        assert.match(page.body, /<span class="menu_link_user">dave<\/span>/);
      }
    }
    await flushedLog();
    const count = (await raced()) - racedBefore;
    process.stdout.write(`      first logins that raced (retried by the worker): ${count} of 5\n`);
  });

  it('a form login (session cookie) made through one worker holds on every worker', async function () {
    const k = target();
    const cookie = await formLogin(k.url, accounts.bob.user, accounts.bob.password);
    for (let i = 0; i < 10; i++) {
      for (const page of await pair(k.url, 'gitrepo?bob-session', { ...notWindows, Cookie: cookie })) {
        assert.equal(page.status, 200, 'logged out on a worker?');
        assert.match(page.body, /<span class="menu_link_user">bob<\/span>/);
      }
    }
    await flushedLog();
    assert.deepEqual([...(await workersServing(k.accessLog, 'bob-session'))].sort(), ['w1', 'w2']);
  });

  it('a repository created, a permission given and a push made through one worker: every worker sees them at once', async function () {
    const k = target();
    dir = await clientDir('pool-state');
    const env = clientEnv(dir);
    // Created through the path (the API answers on whichever worker is idle).
    const created = await fetch(new URL('_admin/api', k.url), {
      method: 'POST',
      headers: { ...notWindows, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        id: 1,
        api_key: k.apiKey,
        method: 'create_repo',
        args: { repo_name: 'pool-state-repo', repo_type: 'git' },
      }),
    });
    assert.equal(((await created.json()) as { error: unknown }).error, null);
    for (const page of await pair(k.url, '?repo-list', alice)) {
      assert.equal(page.status, 200);
      assert.match(page.body, /pool-state-repo/);
    }
    // alice (read by default) cannot push; given write, she can, on every worker.
    for (const page of await pair(k.url, 'pool-state-repo/settings/permissions?before', alice)) {
      assert.equal(page.status, 403);
    }
    await k.api('grant_user_permission', {
      repoid: 'pool-state-repo',
      userid: 'bob',
      perm: 'repository.write',
    });
    await k.api('grant_user_permission', {
      repoid: 'pool-state-repo',
      userid: 'alice',
      perm: 'repository.admin',
    });
    for (const page of await pair(k.url, 'pool-state-repo/settings/permissions?after', alice)) {
      assert.equal(page.status, 200);
    }
    const work = join(dir, 'w');
    await runOk('git', ['init', '-q', '-b', 'master', work], { cwd: dir, env });
    await writePseudoRandomFiles(work, 'state', 1, 1024);
    await runOk('git', ['add', '.'], { cwd: work, env });
    await runOk('git', ['commit', '-q', '-m', 'seen by every worker'], { cwd: work, env });
    const url = repoUrl(k.url, 'pool-state-repo', accounts.bob.user, accounts.bob.password);
    const push = await git(['push', url, 'master'], { cwd: work, env });
    assert.equal(push.code, 0, push.stderr);
    for (const page of await pair(k.url, 'pool-state-repo/changelog?pushed', alice)) {
      assert.equal(page.status, 200);
      assert.match(page.body, /seen by every worker/);
    }
    await flushedLog();
    for (const marker of ['repo-list', 'before', 'after', 'pushed']) {
      assert.deepEqual(
        [...(await workersServing(k.accessLog, `${marker}&probe=`))].sort(),
        ['w1', 'w2'],
        marker,
      );
    }
  });

  it(`4 concurrent pushes (hg and git) and page views for ${LOAD_SECONDS} s: no 500, no database error in any log`, async function () {
    const k = target();
    dir ||= await clientDir('pool-state');
    const env = clientEnv(dir);
    const logs = k.logs;
    const logBefore = await Promise.all(logs.map(async (file) => (await readFile(file, 'utf8')).length));
    const end = Date.now() + LOAD_SECONDS * 1000;
    const pusher = async (vcs: 'hg' | 'git', n: number): Promise<void> => {
      const name = `pool-load-${vcs}-${n}`;
      await k.createRepo(name, vcs);
      const url = repoUrl(k.url, name, accounts.bob.user, accounts.bob.password);
      const work = join(dir, name);
      if (vcs === 'git') await runOk('git', ['init', '-q', '-b', 'master', work], { cwd: dir, env });
      else await runOk('hg', ['init', work], { cwd: dir, env });
      for (let round = 0; round === 0 || Date.now() < end; round++) {
        await writePseudoRandomFiles(work, `r${round}`, 1, 256 * 1024);
        if (vcs === 'git') {
          await runOk('git', ['add', '.'], { cwd: work, env });
          await runOk('git', ['commit', '-q', '-m', `round ${round}`], { cwd: work, env });
        } else {
          await runOk('hg', ['add', '-q'], { cwd: work, env });
          await runOk('hg', ['commit', '-u', 'bob', '-m', `round ${round}`], { cwd: work, env });
        }
        const pushed =
          vcs === 'git'
            ? await git(['push', url, 'master'], { cwd: work, env })
            : await hg(['push', url], { cwd: work, env });
        assert.equal(pushed.code, 0, `${name} round ${round}: ${pushed.stderr}`);
      }
    };
    let pushing = true;
    const statuses: number[] = [];
    const viewer = async (): Promise<void> => {
      while (pushing) {
        for (const path of ['?load', 'gitrepo?load', 'hgrepo/changelog?load'])
          statuses.push((await get(new URL(path, k.url).toString(), alice)).status);
      }
    };
    const viewers = [viewer(), viewer()];
    try {
      await Promise.all([pusher('git', 1), pusher('git', 2), pusher('hg', 1), pusher('hg', 2)]);
    } finally {
      pushing = false;
      await Promise.all(viewers);
    }
    assert.ok(statuses.length > 0);
    assert.deepEqual(new Set(statuses), new Set([200]), `statuses: ${statuses.join(' ')}`);
    await flushedLog();
    for (const [i, file] of logs.entries()) {
      const log = (await readFile(file, 'utf8')).slice(logBefore[i]);
      assert.doesNotMatch(log, /database is locked|OperationalError|DatabaseError|Traceback/, file);
      assert.doesNotMatch(log, /" 5\d\d \d+ /, `a 5xx in the access log ${file}`);
    }
  });

  it('kill -9 of the worker serving a clone: that clone fails, pages go on, the worker comes back', async function () {
    const k = target();
    dir ||= await clientDir('pool-state');
    const env = clientEnv(dir);
    await bigGitRepo(k, 'pool-killed-git', KILLED_CLONE_BYTES, dir, env);
    // The extra workers the pushes above made the bridge start stop once idle (the served
    // instances set a short worker_idle_timeout): the clone then runs on a first worker,
    // which is restarted (an extra one is not; a new one is started when needed).
    let workers = await servedWorkers(k.served);
    for (let i = 0; i < 300 && workers.length > 2; i++) {
      await sleep(100);
      workers = await servedWorkers(k.served);
    }
    assert.equal(workers.length, 2, 'the extra workers did not stop');
    const url = repoUrl(k.url, 'pool-killed-git', accounts.bob.user, accounts.bob.password);
    const clone = git(['clone', '-q', '--no-checkout', url, 'killed-clone'], { cwd: dir, env });
    const victim = await workerServingClone(workers);
    process.kill(victim, 'SIGKILL');
    const pages = pagesDuring(new URL('gitrepo', k.url).toString(), alice, clone);
    const failed = await clone;
    assert.notEqual(failed.code, 0, 'the clone of the killed worker should fail');
    const { statuses } = await pages;
    assert.deepEqual(new Set(statuses), new Set([200]), `pages during: ${statuses.join(' ')}`);

    const now = await workersBack(k.served, workers, victim);
    assert.equal(now.length, workers.length, 'the worker did not come back');
    const survivor = workers.find((pid) => pid !== victim);
    assert.ok(survivor !== undefined && now.includes(survivor), 'the other worker was restarted too');
    assert.equal((await get(new URL('gitrepo', k.url).toString(), alice)).status, 200);
  });
}
