// What python/kallithea_worker.py changes in waitress, tested in Kallithea's venv (the
// instance's, built once and cached): the main loop's flush waits for the outbuf lock the
// app thread holds, and then sends, where waitress alone gives up and polls again (select()
// finds the socket writable, and the loop spins); a worker on a Unix socket keeps up to 16
// MiB of unsent output in memory before waitress moves it to a temporary file (1 MiB by
// default, as on TCP), unless [server:main] says otherwise.
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOk } from '../support/vcs.js';
import { runWorkerProbe } from './support/worker-probe.js';

// Not support/kallithea.js: this test needs the instance's venv, not a running instance.
const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const python = join(repoRoot, '.cache', 'kallithea', 'venv', 'bin', 'python');
const fixtures = join(repoRoot, 'test', 'fixtures', 'workers');

// A channel stand-in with waitress's lock and watermark, its _flush_some counted; the app
// thread holds the lock for 300 ms while the main loop's flush runs. Prints the flushes
// that ran, and whether the flush returned only after the lock was let go.
const probe = `
import sys, threading, time
sys.path.insert(0, sys.argv[1])
from waitress.channel import HTTPChannel

class Adj:
    outbuf_high_watermark = 1 << 24

class Channel:
    adj = Adj()
    total_outbufs_len = 1
    def __init__(self):
        self.outbuf_lock = threading.Condition()
        self.flushes = 0
    def _flush_some(self, *args, **kwargs):
        self.flushes += 1

def flush_while_held(channel):
    held = threading.Event()
    released = []
    def app_thread():
        with channel.outbuf_lock:
            held.set()
            time.sleep(0.3)
            released.append(True)
    thread = threading.Thread(target=app_thread)
    thread.start()
    held.wait()
    HTTPChannel._flush_some_if_lockable(channel)
    waited = bool(released)
    thread.join()
    return channel.flushes, waited

print('waitress alone: flushes %d, waited %s' % flush_while_held(Channel()))
import kallithea_worker
kallithea_worker.flush_without_polling()
print('in the worker: flushes %d, waited %s' % flush_while_held(Channel()))
`;

describe('kallithea_worker.py: waitress in the worker', function () {
  this.timeout(600_000);

  before(async () => {
    await runOk('bash', [join(repoRoot, 'scripts', 'kallithea-instance.sh')], {
      cwd: repoRoot,
      env: process.env,
    });
  });

  it("the main loop's flush waits for the outbuf lock the app thread holds, then sends (waitress alone gives up and polls)", async () => {
    assert.deepEqual(await runWorkerProbe(probe), [
      // Documents what the worker changes: if waitress itself waits some day, this line says so.
      'waitress alone: flushes 0, waited False',
      'in the worker: flushes 1, waited True',
    ]);
  });

  it("outbuf_overflow: 16 MiB on a Unix socket, waitress's 1 MiB on TCP, and [server:main] wins", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'worker-waitress-'));
    try {
      const own = join(dir, 'own.ini');
      const tiny = await readFile(join(fixtures, 'tiny.ini'), 'utf8');
      await writeFile(own, tiny.replace('[server:main]\n', '[server:main]\noutbuf_overflow = 4096\n'));
      const settings = `
import sys
sys.path.insert(0, sys.argv[1])
from waitress.adjustments import Adjustments
import kallithea_worker
for ini, address in ((sys.argv[2], 'unix:/tmp/w1.sock'), (sys.argv[2], 'tcp:127.0.0.1:5999'), (sys.argv[3], 'unix:/tmp/w1.sock')):
    print(Adjustments(**kallithea_worker.worker_settings(ini, address)).outbuf_overflow)
`;
      const result = await runOk(
        python,
        ['-c', settings, join(repoRoot, 'python'), join(fixtures, 'tiny.ini'), own],
        {
          cwd: repoRoot,
          env: { ...process.env, KALLITHEA_ISAPI_WORKER_TOKEN: '' },
        },
      );
      assert.deepEqual(result.stdout.trim().split('\n'), [
        String(16 * 1024 * 1024),
        String(1024 * 1024),
        '4096',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
