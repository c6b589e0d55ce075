// A git client that stops reading its clone for a while, in a Kallithea worker of its own (a
// TCP port; waitress's outbuf_high_watermark lowered to 1 MiB, so that a 64 MiB pack is
// many times the buffers on the way and the stall reaches git's pipe). Kallithea 0.7.0's
// reader of git's output (subprocessio's InputStreamChunker) gave up after 12 s without
// room and ended without saying so: the client that read again got what was buffered, then
// waited forever, and so did the worker's only app thread. python/kallithea_worker.py makes
// the reader wait for room for as long as the response lives: the stalled clone completes;
// a client that goes away ends git and the reader, and the worker serves the next request.
// The same reader with the real classes: a source that fails ends the response with an
// error (never a hang, never a short response passed off as whole), and a response closed
// or dropped while the reader waits for room ends the reader at once. And the worker reads
// git's output in 64 KiB chunks, not 4 KiB (bench/kallithea measures what that saves).
import { strict as assert } from 'node:assert';
import { type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopServe } from '../support/kallithea-parts.js';
import { accounts, findDescendant, freePort, kallithea, outDir, startDirect } from '../support/kallithea.js';
import { clientDir, clientEnv } from '../support/vcs.js';
import { bigGitRepo, MiB, startClone, until } from './support/clones.js';
import { runWorkerProbe } from './support/worker-probe.js';
import { basic, get } from './support/http.js';

const GIT_BYTES = 64 * MiB;
// Longer than 0.7.0's reader waited for room (2 s, then 10 s).
const STALL_MS = 13_000;
const bob = basic(accounts.bob.user, accounts.bob.password);

/** The body of an upload-pack answer without side-band: NAK, then a pack whose last 20 bytes are the SHA-1 of the rest. */
function assertWholePack(body: Buffer): void {
  assert.equal(body.subarray(0, 12).toString('latin1'), '0008NAK\nPACK', 'a pack follows');
  const pack = body.subarray(8);
  const digest = createHash('sha1')
    .update(pack.subarray(0, pack.length - 20))
    .digest();
  assert.ok(digest.equals(pack.subarray(pack.length - 20)), `the pack (${pack.length} bytes) is whole`);
}

/** Settles like `promise`, or rejects with `message` after `ms`. */
async function within<T>(ms: number, promise: Promise<T>, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function threads(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/task`)).length;
}

// Real subprocessio classes of the venv, after the worker's patch: BufferedGenerator reads a
// source in 4 KiB chunks into at most 17 (65536 / 4096 + 1) before it waits for room.
const probe = `
import gc, sys, threading
sys.path.insert(0, sys.argv[1])
from kallithea.lib.vcs import subprocessio

class Failing:
    """Two chunks, then a read error."""
    def __init__(self):
        self.reads = 0
    def read(self, n):
        self.reads += 1
        if self.reads > 2:
            raise OSError(5, 'Input/output error')
        return b'x' * n
    def close(self):
        pass

class Endless:
    def read(self, n):
        return b'x' * n
    def close(self):
        pass

def consume(generator):
    outcome = []
    def run():
        try:
            outcome.append('%d bytes, then the end' % sum(len(chunk) for chunk in generator))
        except Exception as error:
            outcome.append('%s after the chunks read' % type(error).__name__)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(2)
    return outcome[0] if outcome else 'hangs'

def chunks():
    output = subprocessio.SubprocessIOChunker(['head', '-c', '300000', '/dev/zero'])
    try:
        total = sum(len(chunk) for chunk in output)
        return 'chunks of up to %d bytes, %d bytes in all' % (output.output.worker.chunk_size, total)
    finally:
        output.close()

def trickle():
    """Whether the response starts while git, having written progress lines, works on."""
    command = ['sh', '-c', 'for i in $(seq 100); do echo progress; sleep 0.05; done; exec sleep 60']
    started = []
    thread = threading.Thread(target=lambda: started.append(subprocessio.SubprocessIOChunker(command)), daemon=True)
    thread.start()
    thread.join(15)
    if not started:
        return 'waits for git to end'
    output = started[0]
    running = output.process.poll() is None
    first = next(output)
    output.close()
    return '%s, %s chunk first' % ('starts while git works' if running else 'starts at the end', 'a short' if len(first) < 4096 else 'a long')

def flowing():
    """Whether output that flows in 4 KiB writes, 1 ms apart, comes mostly in whole chunks."""
    writer = 'import os, time\\nfor i in range(400):\\n    os.write(1, bytes(4096))\\n    time.sleep(0.001)'
    output = subprocessio.SubprocessIOChunker([sys.executable, '-c', writer])
    try:
        sizes = [len(chunk) for chunk in output]
        size = output.output.worker.chunk_size
        return sum(n for n in sizes if n == size) * 2 > sum(sizes)
    finally:
        output.close()

print('0.7.0 alone, a failing source: %s' % consume(subprocessio.BufferedGenerator(Failing())))
print('0.7.0 alone, %s' % chunks())
import kallithea_worker
kallithea_worker.wait_for_slow_git_clients()
kallithea_worker.larger_git_chunks()
from kallithea.lib.vcs.subprocessio import BufferedGenerator
print('in the worker, a failing source: %s' % consume(BufferedGenerator(Failing())))
print('in the worker, %s' % chunks())
print('in the worker, output that trickles: the response %s' % trickle())
print('in the worker, output that flows: most bytes in whole chunks %s' % flowing())

def waiting_reader():
    generator = BufferedGenerator(Endless())
    while not generator.reading_paused:
        generator.data_added_event.wait(0.1)
    return generator, generator.worker

generator, reader = waiting_reader()
generator.close()
reader.join(2)
print('closed while the reader waits for room: reader ended %s' % (not reader.is_alive()))
generator, reader = waiting_reader()
del generator
gc.collect()
reader.join(2)
print('dropped while the reader waits for room: reader ended %s' % (not reader.is_alive()))
`;

describe("kallithea_worker.py: git's output to a client that stalls or goes away", function () {
  this.timeout(300_000);
  let dir = '';
  let head = '';
  let worker: ChildProcess | undefined;
  let workerPid = 0;
  let base = '';

  before(async function () {
    const k = kallithea();
    dir = await clientDir('worker-git-output');
    head = await bigGitRepo(
      { reposDir: k.reposDir, createRepo: k.createRepo },
      'stalled-git',
      GIT_BYTES,
      dir,
      clientEnv(dir),
    );
    const config = join(k.dir, 'my-stalled.ini');
    const text = await readFile(join(k.dir, 'my.ini'), 'utf8');
    const port = await freePort();
    await writeFile(
      config,
      text
        .replace(/^port = \d+$/m, `port = ${port}`)
        .replace('[server:main]\n', '[server:main]\noutbuf_high_watermark = 1048576\n'),
    );
    const logDir = join(outDir, 'worker-git-output');
    await mkdir(logDir, { recursive: true });
    const children: ChildProcess[] = [];
    const started = startDirect(config, port, children, logDir);
    worker = children[0];
    ({ url: base, pid: workerPid } = await started);
  });
  after(async () => {
    if (worker !== undefined) await stopServe(worker);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it(`a clone whose client stops reading for ${STALL_MS / 1000} s completes once it reads again`, async function () {
    const clone = await startClone(new URL('stalled-git/git-upload-pack', base).toString(), head, bob);
    assert.equal(clone.response.statusCode, 200);
    const first = await clone.read(MiB);
    await sleep(STALL_MS);
    let rest = 0;
    clone.response.on('data', (chunk: Buffer) => (rest += chunk.length));
    const last = await within(
      60_000,
      clone.finish(),
      () =>
        `the response stopped after ${first.length + rest} bytes: the worker's reader of git's output gave up`,
    );
    assertWholePack(Buffer.concat([first, last]));
  });

  it('a client that goes away mid-clone ends git and the reader; the worker serves the next request', async function () {
    const refs = new URL('stalled-git/info/refs?service=git-upload-pack', base).toString();
    const stuck = (): string => 'the worker is stuck';
    assert.equal((await within(10_000, get(refs, { Authorization: bob }), stuck)).status, 200);
    const idleThreads = await threads(workerPid);
    const clone = await startClone(new URL('stalled-git/git-upload-pack', base).toString(), head, bob);
    await clone.read(MiB);
    assert.ok((await findDescendant(workerPid, /upload-pack/)) !== undefined, 'git runs for the clone');
    // Long enough for the reader to fill its chunks and wait for room.
    await sleep(2_000);
    clone.response.destroy();
    await until(
      'git ended',
      async () => (await findDescendant(workerPid, /upload-pack/)) === undefined,
      10_000,
    );
    await until('the reader ended', async () => (await threads(workerPid)) === idleThreads, 10_000);
    const next = await within(10_000, get(refs, { Authorization: bob }), stuck);
    assert.equal(next.status, 200);
  });

  it('with the real classes: a failing source ends the response with an error; close or drop ends a waiting reader; 64 KiB chunks', async function () {
    assert.deepEqual(await runWorkerProbe(probe), [
      // Documents what the worker changes: if Kallithea's reader itself ends some day, this line says so.
      '0.7.0 alone, a failing source: hangs',
      '0.7.0 alone, chunks of up to 4096 bytes, 300000 bytes in all',
      'in the worker, a failing source: OSError after the chunks read',
      'in the worker, chunks of up to 65536 bytes, 300000 bytes in all',
      // Progress lines go out as git writes them, not once 64 KiB have come; a pack that
      // flows is still gathered into whole chunks.
      'in the worker, output that trickles: the response starts while git works, a short chunk first',
      'in the worker, output that flows: most bytes in whole chunks True',
      'closed while the reader waits for room: reader ended True',
      'dropped while the reader waits for room: reader ended True',
    ]);
  });
});
