// The worker pool and its router with real worker processes (python/kallithea_worker.py in
// Kallithea's venv: PasteDeploy + waitress, one thread) serving a tiny WSGI app
// (test/fixtures/workers/tiny_app.py) instead of Kallithea, so each property costs
// milliseconds of app time: an idle worker is preferred to a busy one, a worker serving a
// long stream runs at a lower OS priority, the queue is bounded (503 + Retry-After), a killed
// worker's response fails (never complete) and only it restarts, a GET that reached a worker
// just killed is retried on the other one (a POST is not), none ready is 503 then recovery,
// two long git streams make the pool start an extra worker (pages keep theirs) that stops
// once idle, rapid-fail protection logs one line, and no worker outlives the pool, nor the
// process that ran the pool (the lifeline).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { constants, getPriority, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  UpstreamBodyError,
  UpstreamBusyError,
  UpstreamUnreachableError,
  WorkersUnavailableError,
} from '../../lib/bridge/errors.js';
import { createForwarder, type Forwarder } from '../../lib/bridge/forwarder/forwarder.js';
import { WorkerPool, type WorkerPoolOptions } from '../../lib/bridge/workers/worker-pool.js';
import { captureStart, readBody, testEnviron } from '../support/environ.js';
import { alive } from '../support/processes.js';
import { run, runOk } from '../support/vcs.js';

// Not support/kallithea.js: this test needs the instance's venv, not a running instance.
const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const python = join(repoRoot, '.cache', 'kallithea', 'venv', 'bin', 'python');
const fixtures = join(repoRoot, 'test', 'fixtures', 'workers');

async function until(what: string, test: () => boolean, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; !test(); await sleep(50)) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
  }
}

describe('worker pool: routing and supervision with real worker processes', function () {
  this.timeout(120_000);
  const lines: string[] = [];
  let pool: WorkerPool;
  let forwarder: Forwarder;
  const savedPath = process.env.PYTHONPATH;

  function options(overrides: Partial<WorkerPoolOptions> = {}): WorkerPoolOptions {
    return {
      python,
      config: join(fixtures, 'tiny.ini'),
      workers: 2,
      maxWorkers: 2,
      idleTimeout: 60,
      lowerStreamPriority: true,
      startTimeout: 30,
      rapidFailsPerMinute: 5,
      maxQueued: 1,
      timeouts: { connectTimeout: 5, headersTimeout: 30, bodyTimeout: 30 },
      log: (line) => lines.push(line),
      output: () => undefined,
      ...overrides,
    };
  }

  /** Resolves once the response headers are in; `text` then reads the body. */
  async function open(path: string): Promise<{ text: Promise<string> }> {
    const captured = captureStart();
    const body = await forwarder.app(testEnviron({ REQUEST_URI: path }), captured.start);
    assert.equal(captured.status, 200);
    const text = readBody(body).then((bytes) => bytes.toString());
    text.catch(() => undefined); // observed by the caller
    return { text };
  }

  async function get(path: string): Promise<string> {
    return (await open(path)).text;
  }

  const ready = (): boolean => pool.status().every((worker) => worker.state === 'ready');

  /** A pool of 2 that may grow to 3, extras stopped after 1 s idle, and a forwarder to it. */
  async function startElastic(): Promise<{
    elastic: WorkerPool;
    via: Forwarder;
    send: (path: string) => Promise<string>;
  }> {
    const elastic = await WorkerPool.start(options({ maxWorkers: 3, idleTimeout: 1 }));
    const via = createForwarder({
      upstream: 'http://unused',
      upstreams: elastic.router,
      connectTimeout: 5,
      headersTimeout: 30,
      bodyTimeout: 30,
      maxConnections: 1,
    });
    const send = async (path: string): Promise<string> => {
      const captured = captureStart();
      const body = await via.app(testEnviron({ REQUEST_URI: path }), captured.start);
      assert.equal(captured.status, 200);
      return (await readBody(body)).toString();
    };
    return { elastic, via, send };
  }

  before(async function () {
    this.timeout(600_000);
    // The venv of the Kallithea instance (built once, cached) has PasteDeploy and waitress.
    await runOk('bash', [join(repoRoot, 'scripts', 'kallithea-instance.sh')], {
      cwd: repoRoot,
      env: process.env,
    });
    process.env.PYTHONPATH = fixtures;
    pool = await WorkerPool.start(options());
    forwarder = createForwarder({
      upstream: 'http://unused',
      upstreams: pool.router,
      connectTimeout: 5,
      headersTimeout: 30,
      bodyTimeout: 30,
      maxConnections: 1,
    });
    await until('both workers ready', ready);
  });
  after(async () => {
    await forwarder?.destroy();
    if (savedPath === undefined) delete process.env.PYTHONPATH;
    else process.env.PYTHONPATH = savedPath;
  });

  it('sends every request to the idle worker while the other one is busy', async () => {
    const slow = get('/slow?ms=3000');
    await until('one worker busy', () => pool.status().some((w) => w.busy));
    const busy = pool.status().find((w) => w.busy)?.pid;
    let slowDone = false;
    void slow.then(() => (slowDone = true));
    const pids = new Set<string>();
    for (let i = 0; i < 10; i++) pids.add((await get('/pid')).trim());
    assert.equal(slowDone, false, 'the ten requests should be answered while the slow one runs');
    assert.equal(pids.size, 1);
    assert.notEqual(Number([...pids][0]), busy, 'a request went to the busy worker');
    assert.equal(Number((await slow).trim()), busy);
  });

  it('a worker serving a long stream runs below normal priority while a page is in flight, every thread and its session, and at normal otherwise', async () => {
    // Every thread: Linux sets priorities per thread, and waitress serves on its own.
    const priorities = (pid: number): number[] =>
      readdirSync(`/proc/${pid}/task`).map((thread) => getPriority(Number(thread)));
    const normal = getPriority(); // the workers start at the bridge's priority
    const lowered = (value: number): number => Math.min(constants.priority.PRIORITY_LOW, value + 10);
    // With autogroup, the CPU is shared between sessions first: the session's value ranks them.
    // A new session starts at 0 whatever the bridge's nice value, so the untouched page
    // worker's session is the baseline (under a niced bridge, the bridge's value is not).
    const autogroupNice = (pid: number): number | undefined => {
      const text = existsSync(`/proc/${pid}/autogroup`) ? readFileSync(`/proc/${pid}/autogroup`, 'utf8') : '';
      const match = /nice (-?\d+)/.exec(text);
      return match === null ? undefined : Number(match[1]);
    };
    const stream = await open('/r/git-upload-pack?n=60');
    const serving = pool.status().find((w) => w.busy)?.pid as number;
    const idle = pool.status().find((w) => !w.busy)?.pid as number;
    const sessionNormal = autogroupNice(idle);
    if (sessionNormal !== undefined) assert.equal(sessionNormal, 0, 'a new session starts at 0');
    const atNormal = (): boolean =>
      priorities(serving).every((p) => p === normal) && autogroupNice(serving) === sessionNormal;
    assert.ok(atNormal(), 'alone, the stream runs at normal priority');

    const page = get('/slow?ms=1500');
    await until('the page in flight', () => pool.status().every((w) => w.busy));
    assert.deepEqual(
      priorities(serving),
      priorities(serving).map(() => lowered(normal)),
      'the stream worker is lowered while the page is in flight',
    );
    assert.ok(priorities(serving).length >= 2, 'waitress has a thread besides the main one');
    if (sessionNormal !== undefined) {
      assert.equal(
        autogroupNice(serving),
        lowered(sessionNormal),
        "the stream worker's session is lowered too",
      );
      assert.equal(autogroupNice(idle), sessionNormal, "the page worker's session is not");
    }
    assert.ok(
      priorities(idle).every((p) => p === normal),
      'the page worker keeps its priority',
    );
    assert.equal(Number((await page).trim()), idle);
    if (process.getuid?.() === 0) {
      await until('the stream worker back at normal priority once the page is over', atNormal);
    } else {
      // Raising a priority back needs CAP_SYS_NICE: the worker stays low, and says so once.
      await until('the refusal logged', () => lines.some((l) => /stays below normal priority/.test(l)));
      assert.equal(Number((await get('/pid')).trim()), idle, 'pages go to the other worker first');
    }
    await stream.text;
    if (process.getuid?.() === 0) assert.ok(atNormal(), 'and after the stream');
  });

  it('the app sees the client address and scheme the bridge knows, and never a client-sent claim', async () => {
    const captured = captureStart();
    const environ = testEnviron({ REQUEST_URI: '/environ', REMOTE_ADDR: '10.1.2.3', HTTPS: 'on' });
    assert.equal(environ['wsgi.url_scheme'], 'https');
    assert.equal(
      await readBody(await forwarder.app(environ, captured.start)).then(String),
      '10.1.2.3 https\n',
    );
    // Straight to a worker's socket, as any local process could: the claim without the token is dropped.
    const socketPath = (pool.status()[0]?.address as string).slice('unix:'.length);
    const forged = await new Promise<string>((done, fail) => {
      const req = httpRequest(
        { socketPath, path: '/environ', headers: { 'X-Kallithea-Isapi': 'guessed https 6.6.6.6' } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => done(text));
        },
      );
      req.on('error', fail);
      req.end();
    });
    assert.doesNotMatch(forged, /6\.6\.6\.6|https/);
  });

  it('queues one request when both are busy and refuses the next with 503 + Retry-After', async () => {
    const first = get('/slow?ms=1500');
    const second = get('/slow?ms=1500');
    await until('both busy', () => pool.status().every((w) => w.busy));
    const queued = get('/pid');
    await until('one queued', () => pool.router.queued === 1);
    await assert.rejects(get('/pid'), (error: unknown) => {
      assert.ok(error instanceof UpstreamBusyError, String(error));
      assert.equal(error.status, 503);
      assert.ok(error.retryAfter > 0);
      return true;
    });
    const [a, b, c] = await Promise.all([first, second, queued]);
    assert.notEqual(a, b);
    assert.ok([a, b].includes(c), 'the queued request is served by one of the two');
  });

  it('kill -9 of the worker serving a stream: that response fails, the other completes, only it restarts', async () => {
    lines.length = 0;
    const before = pool.status();
    const opened = await Promise.all([open('/stream?n=60'), open('/stream?n=30')]);
    const victim = before[0]?.pid as number;
    process.kill(victim, 'SIGKILL');
    const results = await Promise.allSettled(opened.map((response) => response.text));
    const failures = results.filter((r) => r.status === 'rejected');
    assert.equal(failures.length, 1, 'exactly the killed worker’s response fails');
    const reason = (failures[0] as PromiseRejectedResult).reason as unknown;
    assert.ok(
      reason instanceof UpstreamBodyError,
      `the response is aborted, not complete: ${String(reason)}`,
    );
    const completed = results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<string>;
    assert.ok(completed.value.length === 60 * 1024 || completed.value.length === 30 * 1024);
    await until('the worker is back', ready);
    const after = pool.status();
    assert.notEqual(after[0]?.pid, victim);
    assert.equal(after[1]?.pid, before[1]?.pid, 'the other worker was not restarted');
    assert.equal(after[0]?.restarts, (before[0]?.restarts ?? 0) + 1);
    assert.ok(
      lines.some((line) => /worker w1 exited \(SIGKILL\); restarting it in/.test(line)),
      lines.join('\n'),
    );
  });

  it('a request routed to a worker that just died: a GET is retried on the other one, a POST is not', async () => {
    // Killed, and asked at once: the bridge has not yet seen the exit (that takes a turn of
    // the event loop), so the router still gives out w1, the first idle worker.
    const killed: number[] = [];
    // A killed worker stays 'ready' until the bridge has reaped it: "ready" alone would pass at
    // once after a kill, so wait for ready workers none of which is one this test killed.
    const restarted = (): boolean =>
      ready() && pool.status().every((w) => w.pid !== undefined && !killed.includes(w.pid));
    const killFirstAndSend = async (environ: ReturnType<typeof testEnviron>): Promise<string> => {
      await until('both ready and idle', () => restarted() && pool.status().every((w) => !w.busy));
      const [first, second] = pool.status();
      killed.push(first?.pid as number);
      process.kill(first?.pid as number, 'SIGKILL');
      const captured = captureStart();
      const answer = await readBody(await forwarder.app(environ, captured.start)).then(String);
      assert.equal(captured.status, 200);
      assert.equal(Number(answer.trim()), second?.pid, 'served by the other worker');
      return answer;
    };
    const body = new PassThrough();
    body.end('x');
    await assert.rejects(
      killFirstAndSend(
        testEnviron({ REQUEST_URI: '/pid', REQUEST_METHOD: 'POST', CONTENT_LENGTH: '1' }, body),
      ),
      (error: unknown) => {
        assert.ok(error instanceof UpstreamUnreachableError, String(error));
        assert.equal(error.status, 502);
        return true;
      },
    );
    // CONTENT_LENGTH given, as IIS does: no wait for the end of an empty body first.
    await killFirstAndSend(testEnviron({ REQUEST_URI: '/pid', CONTENT_LENGTH: '0' }));
    await until('both back', restarted);
  });

  it('kill -9 of every worker: 503 + Retry-After, then recovery', async () => {
    await until('both ready', () => ready() && pool.status().every((w) => w.pid !== undefined));
    for (const worker of pool.status()) process.kill(worker.pid as number, 'SIGKILL');
    await until('none ready', () => pool.status().every((w) => w.state !== 'ready'));
    await assert.rejects(get('/pid'), (error: unknown) => {
      assert.ok(error instanceof WorkersUnavailableError, String(error));
      assert.equal(error.status, 503);
      assert.ok(error.retryAfter > 0);
      return true;
    });
    await until('both back', ready);
    assert.match(await get('/pid'), /^\d+\n$/);
  });

  it('two long git streams on 2 workers: the second gets an extra worker, pages keep w1; the idle extra stops', async () => {
    lines.length = 0;
    const { elastic, via, send } = await startElastic();
    try {
      await until('both ready', () => elastic.status().every((w) => w.state === 'ready'));
      const first = send('/r/git-upload-pack?n=100');
      await until('a stream holds a worker', () => elastic.router.streamsHeld === 1);
      const second = send('/r/git-upload-pack?n=60');
      await until('the extra worker serves the second stream', () => elastic.router.streamsHeld === 2);
      let streamsDone = false;
      void Promise.all([first, second]).finally(() => (streamsDone = true));
      const during = elastic.status();
      assert.deepEqual(
        during.map((w) => [w.name, w.extra, w.busy]),
        [
          ['w1', false, false],
          ['w2', false, true],
          ['w3', true, true],
        ],
      );
      assert.equal(Number((await send('/pid')).trim()), during[0]?.pid, 'the page goes to w1 at once');
      assert.equal(streamsDone, false, 'the page was answered while both streams ran');
      assert.deepEqual(
        (await Promise.all([first, second])).map((text) => text.length),
        [100 * 1024, 60 * 1024],
      );
      await until('the idle extra worker stopped', () => elastic.status().length === 2, 15_000);
      assert.ok(!alive(during[2]?.pid as number), 'the extra worker process is gone');
      assert.deepEqual(
        elastic.status().map((w) => [w.name, w.pid]),
        during.slice(0, 2).map((w) => [w.name, w.pid]),
        'the base workers stay',
      );
      const log = lines.join('\n');
      assert.match(log, /worker w3 starting, an extra one: hg\/git streams hold 1 of 2 workers/);
      assert.match(log, /worker w3 idle for 1 s: stopping it/);
      assert.match(log, /worker w3 stopped/);
    } finally {
      await via.destroy();
    }
  });

  it('an extra worker loads below normal priority, and serves at normal once ready', async () => {
    const { elastic, via, send } = await startElastic();
    const normal = getPriority();
    try {
      await until('both ready', () => elastic.status().every((w) => w.state === 'ready'));
      // The stream and the slow page hold their workers until the page is answered: however
      // long the extra worker takes to load, the page can only get that one (a fixed sleep
      // ran out first under a loaded CI run, and the page took the slow page's worker).
      const release = join(await mkdtemp(join(tmpdir(), 'kallithea-isapi-hold-')), 'release');
      const hold = `hold=${encodeURIComponent(release)}`;
      const stream = send(`/r/git-upload-pack?n=20&${hold}`);
      await until('a stream holds a worker', () => elastic.router.streamsHeld === 1);
      const slow = send(`/slow?ms=0&${hold}`);
      await until('both busy', () => elastic.status().every((w) => w.busy));
      // A page now waits while a stream holds a worker: the pool starts w3 for it.
      const page = send('/pid');
      let startingPriority: number | undefined;
      await until('w3 starting', () => {
        const w3 = elastic.status()[2];
        if (w3?.state !== 'starting' || w3.pid === undefined) return false;
        startingPriority = getPriority(w3.pid);
        return true;
      });
      assert.equal(startingPriority, Math.min(constants.priority.PRIORITY_LOW, normal + 10));
      const w3 = Number((await page).trim());
      assert.equal(w3, elastic.status()[2]?.pid, 'the waiting page got the extra worker');
      if (process.getuid?.() === 0) {
        assert.deepEqual(
          readdirSync(`/proc/${w3}/task`).map((thread) => getPriority(Number(thread))),
          readdirSync(`/proc/${w3}/task`).map(() => normal),
          'ready, it runs at normal priority',
        );
      }
      await writeFile(release, '');
      await Promise.all([stream, slow]);
      await rm(dirname(release), { recursive: true, force: true });
    } finally {
      await via.destroy();
    }
  });

  it('stop: every worker process is gone', async () => {
    const pids = pool.status().map((w) => w.pid as number);
    assert.ok(pids.every(alive));
    await pool.stop();
    assert.deepEqual(pids.filter(alive), [], 'a worker outlived the pool');
    assert.ok(pool.status().every((w) => w.state === 'stopped'));
  });

  it('rapid-fail protection: a worker that cannot start is given up with one clear log line', async () => {
    lines.length = 0;
    const broken = await WorkerPool.start(
      options({ config: join(fixtures, 'tiny-broken.ini'), rapidFailsPerMinute: 3 }),
    );
    try {
      await until('both failed', () => broken.status().every((w) => w.state === 'failed'));
      const rapid = lines.filter((line) => /rapid-fail protection/.test(line));
      assert.equal(rapid.length, 1, lines.join('\n'));
      assert.match(rapid[0] as string, /failed 3 times within a minute/);
      assert.match(rapid[0] as string, /broken on purpose/);
      assert.throws(() => broken.router.acquire(new AbortController().signal), WorkersUnavailableError);
    } finally {
      await broken.stop();
    }
  });

  it('kallithea-isapi check starts each worker and reports it: OK with its address, FAIL with the cause', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'kallithea-isapi-check-'));
    try {
      for (const [name, config] of [
        ['good', 'tiny.ini'],
        ['broken', 'tiny-broken.ini'],
      ] as const) {
        const ini = join(folder, `${name}.ini`);
        await writeFile(
          ini,
          `[bridge]\nkallithea_config = ${join(fixtures, config)}\npython = ${python}\nworkers = 2\n`,
        );
        const result = await run(
          process.execPath,
          [join(repoRoot, 'bin', 'kallithea-isapi.js'), 'check', '--config', ini],
          {
            cwd: folder,
            env: { ...process.env, PYTHONPATH: fixtures },
          },
        );
        const lines = result.stdout.split('\n').filter((line) => / worker w\d /.test(line));
        assert.equal(lines.length, 2, result.stdout);
        for (const line of lines) {
          if (name === 'good')
            assert.match(line, /^OK +worker w[12] +Kallithea answers on unix:\/.*\.sock \(pid \d+/);
          else assert.match(line, /^FAIL +worker w[12] +.*broken on purpose/);
        }
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('the lifeline: workers exit when the process that runs the pool is killed -9', async () => {
    const plain = { ...options(), log: undefined, output: undefined };
    const script =
      `const { WorkerPool } = await import(${JSON.stringify(join(repoRoot, 'dist', 'lib', 'bridge', 'workers', 'worker-pool.js'))});\n` +
      `const pool = await WorkerPool.start({ ...${JSON.stringify(plain)}, log: () => {}, output: () => {} });\n` +
      'const timer = setInterval(() => {\n' +
      '  const s = pool.status();\n' +
      '  if (s.every((w) => w.state === "ready")) { clearInterval(timer); console.log(JSON.stringify(s.map((w) => w.pid))); }\n' +
      '}, 50);\n';
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PYTHONPATH: fixtures },
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await until('the child pool is ready', () => text.includes(']'));
    const pids = JSON.parse(text) as number[];
    assert.equal(pids.length, 2);
    assert.ok(pids.every(alive));
    child.kill('SIGKILL');
    await until('the workers are gone', () => !pids.some(alive), 10_000);
  });
});
