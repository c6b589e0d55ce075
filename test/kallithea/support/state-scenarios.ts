// Kallithea's state across the bridge's workers (2 here), as scenarios run against one
// database or another (worker-pool-state.test.ts: SQLite; worker-pool-postgres.test.ts). Sessions are beaker file sessions
// in my.ini's cache_dir (TurboGears sets session.data_dir = cache_dir/sessions), so a login
// made through one worker holds on the other; repositories, permissions and pushes live in
// the database and the repositories, so each worker sees a change made through the other at
// once; and SQLite shared by the workers (busy timeout 60 s in the URL, WAL set by the
// instance script) gives no "database is locked" under concurrent pushes and page views.
//
// Requests are sent in pairs: the router gives each of two overlapping requests its own
// worker (the first idle one is taken), and the access log, which names the worker, shows
// that both served.
import { strict as assert } from 'node:assert';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { accounts } from '../../support/kallithea.js';
import { clientDir, clientEnv, git, hg, repoUrl, runOk, writePseudoRandomFiles } from '../../support/vcs.js';
import { basic, get, type SimpleResponse } from './http.js';

/** A served Kallithea instance with 2 workers. */
export interface StateTarget {
  /** Through the whole path, ending in '/'. */
  readonly url: string;
  /** The DLL's log: the bridge's access log and the workers' output. */
  readonly accessLog: string;
  /** Every log to search for database errors (the access log among them). */
  readonly logs: readonly string[];
  readonly apiKey: string;
  api(method: string, args: Record<string, unknown>): Promise<unknown>;
  /** A new repository with bob write and carol read. */
  createRepo(name: string, type: 'hg' | 'git'): Promise<void>;
}

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
    // The first view alone: it creates alice. Two first views at once race in Kallithea's
    // container plugin, one on each worker, and one gets 500 (UNIQUE constraint failed:
    // users.username); a Kallithea limitation, see README.
    assert.equal((await get(new URL('gitrepo?alice-first', k.url).toString(), alice)).status, 200);
    for (let i = 0; i < 10; i++) {
      for (const page of await pair(k.url, 'gitrepo?alice-views', alice)) {
        assert.equal(page.status, 200);
        assert.match(page.body, /<span class="menu_link_user">alice<\/span>/);
      }
    }
    await flushedLog();
    assert.deepEqual([...(await workersServing(k.accessLog, 'alice-views'))].sort(), ['w1', 'w2']);
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

  it('4 concurrent pushes (hg and git) and page views: no 500, no database error in any log', async function () {
    const k = target();
    dir ||= await clientDir('pool-state');
    const env = clientEnv(dir);
    const logs = k.logs;
    const logBefore = await Promise.all(logs.map(async (file) => (await readFile(file, 'utf8')).length));
    const rounds = 5;
    const pusher = async (vcs: 'hg' | 'git', n: number): Promise<void> => {
      const name = `pool-load-${vcs}-${n}`;
      await k.createRepo(name, vcs);
      const url = repoUrl(k.url, name, accounts.bob.user, accounts.bob.password);
      const work = join(dir, name);
      if (vcs === 'git') await runOk('git', ['init', '-q', '-b', 'master', work], { cwd: dir, env });
      else await runOk('hg', ['init', work], { cwd: dir, env });
      for (let round = 0; round < rounds; round++) {
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
}
