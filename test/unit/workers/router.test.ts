// The router's decision with fake workers (no processes): pages take any idle worker; a long
// hg/git stream never takes the last worker no stream holds (the reserve), except the first
// stream; a request that waits while streams hold workers asks the pool to grow; a worker
// that becomes ready goes to the oldest waiter allowed to take it, a page before a stream it
// overtook; the queue bound and the 503s still hold.
import assert from 'node:assert/strict';
import type { UpstreamDispatcher } from '../../../lib/bridge/upstream-client/pool.js';
import { UpstreamBusyError, WorkersUnavailableError } from '../../../lib/bridge/errors.js';
import type { Lease } from '../../../lib/bridge/forwarder/upstreams.js';
import { isLongVcsStream } from '../../../lib/bridge/workers/long-stream.js';
import { Router, type RoutedWorker } from '../../../lib/bridge/workers/router.js';
import { testEnviron } from '../../support/environ.js';

const fakeDispatcher = {} as UpstreamDispatcher;

function worker(name: string, ready = true): RoutedWorker {
  return {
    name,
    origin: `worker ${name}`,
    dispatcher: ready ? fakeDispatcher : undefined,
    generation: 1,
    busy: false,
    stream: false,
    idleSince: 0,
    lowered: false,
  };
}

function setup(
  names: string[],
  maxQueued = 10,
): { workers: RoutedWorker[]; router: Router; grown: () => number; streaming: string[]; pages: boolean[] } {
  const workers = names.map((name) => worker(name));
  let grown = 0;
  const streaming: string[] = [];
  const pages: boolean[] = [];
  const router = new Router(workers, {
    hopToken: 'token',
    maxQueued,
    retryAfter: 5,
    describeDown: () => 'all down',
    grow: () => void (grown += 1),
    streaming: (worker, started) => streaming.push(`${worker.name} ${started ? 'started' : 'ended'}`),
    pages: (inFlight) => pages.push(inFlight),
    close: () => Promise.resolve(),
    destroy: () => Promise.resolve(),
  });
  return { workers, router, grown: () => grown, streaming, pages };
}

const signal = new AbortController().signal;

function now(acquired: Lease | Promise<Lease>): Lease {
  assert.ok(!(acquired instanceof Promise), 'expected a worker at once');
  return acquired;
}

/** A pending acquire: the lease once given, or undefined while it waits. */
function later(acquired: Lease | Promise<Lease>): { lease: () => Lease | undefined } {
  assert.ok(acquired instanceof Promise, 'expected the request to wait');
  let lease: Lease | undefined;
  void acquired.then((l) => (lease = l));
  return { lease: () => lease };
}

const turn = (): Promise<void> => new Promise((done) => setImmediate(done));

describe('router: long hg/git streams and pages', () => {
  it('the first stream takes a worker, the second may not take the last one: it waits and the pool is asked to grow', async () => {
    const { workers, router, grown } = setup(['w1', 'w2']);
    assert.equal(now(router.acquire(signal, true)).worker, 'w2', 'streams take the newest worker');
    const second = later(router.acquire(signal, true));
    assert.equal(grown(), 1);
    assert.equal(router.waiting.streams, 1);
    // A page still finds w1 at once.
    const page = now(router.acquire(signal, false));
    assert.equal(page.worker, 'w1');
    page.release();
    await turn();
    assert.equal(second.lease(), undefined, 'w1 freed by the page stays reserved for pages');
    // The extra worker is ready: the stream gets it, w2 stays free.
    const extra = worker('w3', false);
    workers.push(extra);
    extra.dispatcher = fakeDispatcher;
    router.workerAvailable();
    await turn();
    assert.equal(second.lease()?.worker, 'w3');
    assert.equal(workers[0]?.busy, false);
    assert.equal(now(router.acquire(signal, false)).worker, 'w1');
  });

  it('a page waiting behind busy workers asks to grow only while streams hold workers, and gets the new worker first', async () => {
    const { workers, router, grown } = setup(['w1', 'w2']);
    now(router.acquire(signal, false));
    now(router.acquire(signal, false));
    const pageBehindPages = later(router.acquire(signal, false));
    assert.equal(grown(), 0, 'pages behind pages: more processes than CPUs do not help');
    const { router: r2, workers: w2, grown: grown2 } = setup(['w1', 'w2']);
    now(r2.acquire(signal, true));
    now(r2.acquire(signal, false));
    const stream = later(r2.acquire(signal, true));
    const page = later(r2.acquire(signal, false));
    assert.equal(grown2(), 2);
    const extra = worker('w3');
    w2.push(extra);
    r2.workerAvailable();
    await turn();
    assert.equal(page.lease()?.worker, 'w3', 'the page overtakes the stream the reserve holds back');
    assert.equal(stream.lease(), undefined);
    page.lease()?.release();
    await turn();
    assert.equal(stream.lease()?.worker, 'w3', 'then the stream takes the newest worker');
    void workers;
    void pageBehindPages;
  });

  it('a stream ending frees its worker for the stream waiting', async () => {
    const { router } = setup(['w1', 'w2']);
    const first = now(router.acquire(signal, true));
    const second = later(router.acquire(signal, true));
    first.release();
    await turn();
    assert.equal(second.lease()?.worker, 'w2');
    assert.equal(router.streamsHeld, 1);
  });

  it('the pool hears when a stream takes a worker and when it ends (to set its priority), never for pages', () => {
    const { router, streaming } = setup(['w1', 'w2', 'w3']);
    const page = now(router.acquire(signal, false));
    const stream = now(router.acquire(signal, true));
    assert.deepEqual(streaming, ['w3 started']);
    page.release();
    stream.release();
    stream.release();
    assert.deepEqual(streaming, ['w3 started', 'w3 ended'], 'once per stream, however often released');
  });

  it('the pool hears when the first page starts and the last one ends (streams give way only then)', () => {
    const { router, workers, pages } = setup(['w1', 'w2', 'w3']);
    const stream = now(router.acquire(signal, true));
    assert.deepEqual(pages, [], 'a stream is not a page');
    const first = now(router.acquire(signal, false));
    assert.deepEqual(pages, [true], 'before the first page goes out');
    const second = now(router.acquire(signal, false));
    first.release();
    first.release();
    assert.deepEqual(pages, [true], 'a page is still in flight');
    // The second page's worker dies and is reaped before the page is released: it still ends.
    const reaped = workers.find((w) => w.name === second.worker) as RoutedWorker;
    reaped.generation += 1;
    second.release();
    assert.deepEqual(pages, [true, false]);
    stream.release();
    assert.deepEqual(pages, [true, false]);
  });

  it('pages take an idle worker at normal priority before one left at a lower priority', () => {
    const { router, workers } = setup(['w1', 'w2']);
    (workers[0] as RoutedWorker).lowered = true;
    const first = now(router.acquire(signal, false));
    assert.equal(first.worker, 'w2');
    assert.equal(
      now(router.acquire(signal, false)).worker,
      'w1',
      'and the lowered one when no other is idle',
    );
    first.release();
  });

  it('one worker only (max_workers = workers = 1): a stream still runs', () => {
    const { router } = setup(['w1']);
    assert.equal(now(router.acquire(signal, true)).worker, 'w1');
  });

  it('the queue bound and "none ready" still give 503', () => {
    const { router, workers } = setup(['w1', 'w2'], 1);
    now(router.acquire(signal, true));
    now(router.acquire(signal, false));
    later(router.acquire(signal, true));
    assert.throws(() => router.acquire(signal, false), UpstreamBusyError);
    const { router: down, workers: none } = setup(['w1']);
    (none[0] as RoutedWorker).dispatcher = undefined;
    assert.throws(() => down.acquire(signal, false), WorkersUnavailableError);
    void workers;
  });
});

describe('long hg/git streams: which requests', () => {
  const cases: Array<[target: string, long: boolean]> = [
    ['/repo/git-upload-pack', true],
    ['/kallithea/group/repo/git-receive-pack', true],
    ['/repo/info/refs?service=git-upload-pack', false],
    ['/repo?cmd=getbundle', true],
    ['/repo?cmd=unbundle', true],
    ['/repo?cmd=stream_out', true],
    ['/repo?cmd=capabilities', false],
    ['/repo?cmd=batch&x=cmd=getbundle', false],
    ['/repo/summary', false],
    ['/repo/git-upload-pack/files', false],
  ];
  for (const [target, long] of cases) {
    it(`${target}: ${long ? 'a stream' : 'not a stream'}`, () => {
      assert.equal(isLongVcsStream(testEnviron({ REQUEST_URI: target })), long);
    });
  }
});
