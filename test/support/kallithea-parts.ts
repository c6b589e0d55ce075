// The parts of the Kallithea fixture, without its root hooks (kallithea.ts registers those):
// the cached instance's paths and accounts, a private copy of it, one Kallithea worker on a
// port of its own, and `kallithea-isapi serve` as a child process. A test that needs its own
// instance (configure-kallithea's, which changes the settings every other test relies on)
// builds it from these without starting the shared one.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort } from '../../lib/bridge/workers/worker-pool.js';
import { runOk } from './vcs.js';

export const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
export const cachedInstance = join(repoRoot, '.cache', 'kallithea');
export const outDir = join(repoRoot, 'test', 'out', 'kallithea');
export const venvPython = join(cachedInstance, 'venv', 'bin', 'python');
export const provisionScript = join(repoRoot, 'scripts', 'kallithea', 'provision.py');
export const workerScript = join(repoRoot, 'python', 'kallithea_worker.py');
export const windowsUsersFile = join(repoRoot, 'scripts', 'kallithea', 'windows-users.txt');

/** Accounts of the cached instance (scripts/kallithea/README.md) and the emulated Windows users. */
export const accounts = {
  admin: { user: 'admin', password: process.env.KALLITHEA_ADMIN_PASSWORD ?? 'admin-secret-1' },
  bob: { user: 'bob', password: process.env.KALLITHEA_BOB_PASSWORD ?? 'bob-secret-1' },
  carol: { user: 'carol', password: process.env.KALLITHEA_CAROL_PASSWORD ?? 'carol-secret-1' },
  alice: { user: 'alice', password: 'alice-pass' },
  dave: { user: 'dave', password: 'dave-pass' },
};

export const freePort = freeLoopbackPort;

/** The cached instance (built or reused) copied into a new folder: database, repositories, my.ini
 * and my-vdir.ini on free ports, the repositories' location pointed at the copy. */
export async function instanceCopy(): Promise<{ dir: string; ports: { root: number; vdir: number } }> {
  await runOk('bash', [join(repoRoot, 'scripts', 'kallithea-instance.sh')], {
    cwd: repoRoot,
    env: process.env,
  });
  const dir = await mkdtemp(join(tmpdir(), 'kallithea-test-'));
  await cp(join(cachedInstance, 'kallithea.db'), join(dir, 'kallithea.db'));
  await cp(join(cachedInstance, 'repos'), join(dir, 'repos'), { recursive: true });
  const ports = { root: await freePort(), vdir: await freePort() };
  for (const [file, port] of [
    ['my.ini', ports.root],
    ['my-vdir.ini', ports.vdir],
  ] as const) {
    const text = await readFile(join(cachedInstance, file), 'utf8');
    await writeFile(join(dir, file), text.replace(/^port = \d+$/m, `port = ${port}`));
  }
  // The repositories' location lives in the database: point the copy at its own.
  const script =
    'import sqlite3, sys\n' +
    'c = sqlite3.connect(sys.argv[1] + "/kallithea.db")\n' +
    'c.execute("update ui set ui_value = ? where ui_section = \'paths\' and ui_key = \'/\'", (sys.argv[1] + "/repos",))\n' +
    'c.execute("update ui set ui_value = ? where ui_section = \'largefiles\' and ui_key = \'usercache\'", (sys.argv[1] + "/repos/.cache/largefiles",))\n' +
    'c.commit()\n';
  await runOk(venvPython, ['-c', script, dir], { cwd: dir, env: process.env });
  return { dir, ports };
}

/** One Kallithea worker on my.ini's own port, run by the fixture: Kallithea alone. */
export async function startDirect(
  config: string,
  port: number,
  children: ChildProcess[],
  logDir: string,
): Promise<{ url: string; pid: number }> {
  const log = createWriteStream(join(logDir, 'direct.log'));
  // stdin is the worker's lifeline: it exits when this process goes.
  const worker = spawn(venvPython, [workerScript, config, `tcp:127.0.0.1:${port}`], {
    cwd: resolve(config, '..'),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(worker);
  worker.stderr.pipe(log);
  await new Promise<void>((done, fail) => {
    worker.stdout.on('data', (chunk: Buffer) => {
      if (/^ready( \d+)?$/m.test(chunk.toString())) done();
    });
    worker.once('exit', (code) => fail(new Error(`the direct Kallithea exited ${code}; see direct.log`)));
  });
  worker.stdout.resume();
  return { url: `http://127.0.0.1:${port}/`, pid: worker.pid as number };
}

export interface ExtraServe {
  readonly serve: ChildProcess;
  /** Its my.ini. */
  readonly config: string;
  /** What serve printed so far. */
  stdout(): string;
  stderr(): string;
  /** Its exit code. */
  readonly exited: Promise<number | null>;
  /** The URL once `ready at` was printed, undefined if it never was. */
  readonly ready: Promise<string | undefined>;
}

/** `kallithea-isapi serve -c config --port 0 ...args`; the test stops it. */
export function spawnServeProcess(config: string, args: string[]): ExtraServe {
  const serve = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'kallithea-isapi.js'), 'serve', '-c', config, '--port', '0', ...args],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  serve.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  serve.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const exited = new Promise<number | null>((done) => serve.once('exit', (code) => done(code)));
  const ready = (async () => {
    for (let i = 0; i < 1800 && serve.exitCode === null; i++) {
      const match = /ready at (\S+)/.exec(stdout);
      if (match !== null) return match[1];
      await new Promise((done) => setTimeout(done, 100));
    }
    return undefined;
  })();
  return { serve, config, stdout: () => stdout, stderr: () => stderr, exited, ready };
}

export async function stopServe(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}
