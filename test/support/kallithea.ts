// The Kallithea suite's shared fixture. Importing this module registers root-level mocha
// hooks (once per run, however many test files import it): before() builds or reuses the
// cached instance (scripts/kallithea-instance.sh), copies its database and repositories into
// a private folder with ini files on free ports, and starts the whole path twice as child
// processes, `kallithea-isapi serve` at the site root (my.ini) and at /kallithea
// (my-vdir.ini), each with its bridge's Kallithea workers, plus one Kallithea worker of its
// own on my.ini's port (`direct`, Kallithea alone); after() stops them all and removes the
// copy. Tests change only the copy.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  accounts,
  cachedInstance,
  freePort,
  instanceCopy,
  outDir,
  provisionScript,
  repoRoot,
  spawnServeProcess,
  startDirect,
  stopServe,
  venvPython,
  windowsUsersFile,
  type ExtraServe,
} from './kallithea-parts.js';
import { run, runOk } from './vcs.js';

export {
  accounts,
  cachedInstance,
  freePort,
  instanceCopy,
  outDir,
  repoRoot,
  spawnServeProcess,
  startDirect,
  windowsUsersFile,
  type ExtraServe,
};

export interface ServedPath {
  name: 'root' | 'vdir';
  /** Through isapi-host -> DLL -> bridge, ending in '/'. */
  url: string;
  /** The `kallithea-isapi serve` process (isapi-host runs in it). */
  serve: ChildProcess;
  log: string;
}

export interface KallitheaInstance {
  dir: string;
  reposDir: string;
  root: ServedPath;
  vdir: ServedPath;
  /** Kallithea alone (one worker process on my.ini's port, not through the path), ending in '/'. */
  direct: string;
  /** That process. */
  directPid: number;
  /** The admin's API key. */
  apiKey: string;
  /** Kallithea's JSON API as admin, straight to the root Kallithea. */
  api(method: string, args: Record<string, unknown>): Promise<unknown>;
  /** A new repository with bob write and carol read, as provision.py gives hgrepo/gitrepo. */
  createRepo(name: string, type: 'hg' | 'git'): Promise<void>;
  /** provision.py user-info NAME on the copy. */
  userInfo(name: string): Promise<string>;
}

let instance: KallitheaInstance | undefined;
let cleanup: (() => Promise<void>) | undefined;

export function kallithea(): KallitheaInstance {
  if (instance === undefined) throw new Error('the Kallithea fixture did not start (see before all hook)');
  return instance;
}

// --- /proc: the processes of the path -----------------------------------------------------

export async function childPids(pid: number): Promise<number[]> {
  const pids: number[] = [];
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return pids;
  }
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    pids.push(
      ...text
        .split(/\s+/)
        .filter((s) => s !== '')
        .map(Number),
    );
  }
  return pids;
}

export async function commandLine(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return raw.split('\0').join(' ').trim();
}

/** The first descendant of pid whose command line matches. */
export async function findDescendant(pid: number, pattern: RegExp): Promise<number | undefined> {
  for (const child of await childPids(pid)) {
    if (pattern.test(await commandLine(child))) return child;
    const deeper = await findDescendant(child, pattern);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

/** VmHWM / VmRSS of a process, in bytes. */
export async function memory(pid: number): Promise<{ hwm: number; rss: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (match === null) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { hwm: field('VmHWM'), rss: field('VmRSS') };
}

/** Resets a process's peak RSS (VmHWM) to its current RSS. */
export async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

export const workerPattern = /kallithea_worker\.py/;
export const bridgePattern = /kallithea-isapi\.js bridge/;

/** Every descendant of pid whose command line matches. */
export async function findDescendants(pid: number, pattern: RegExp): Promise<number[]> {
  const found: number[] = [];
  for (const child of await childPids(pid)) {
    if (pattern.test(await commandLine(child))) found.push(child);
    found.push(...(await findDescendants(child, pattern)));
  }
  return found;
}

/**
 * Waits until the bridge under `served` runs as many workers as `before` again, `victim`
 * not among them; returns them.
 */
export async function workersBack(served: Served, before: number[], victim: number): Promise<number[]> {
  let now: number[] = [];
  for (let i = 0; i < 600; i++) {
    now = await servedWorkers(served);
    if (now.length === before.length && !now.includes(victim)) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  return now;
}

/** A `kallithea-isapi serve` process: the fixture's (ServedPath) or a test's own (ExtraServe). */
export interface Served {
  readonly serve: ChildProcess;
}

/** The Kallithea workers (pids) the bridge under a serve process runs. */
export function servedWorkers(served: Served): Promise<number[]> {
  return findDescendants(served.serve.pid as number, workerPattern);
}

// --- start and stop ---------------------------------------------------------------------------

async function startServe(
  name: 'root' | 'vdir',
  config: string,
  virtualDir: string,
  children: ChildProcess[],
  logDir: string,
): Promise<ServedPath> {
  const port = await freePort();
  const log = join(logDir, `serve-${name}.log`);
  const args = [
    join(repoRoot, 'bin', 'kallithea-isapi.js'),
    'serve',
    '-c',
    config,
    '--port',
    String(port),
    '--virtualdir',
    virtualDir,
    '--users',
    windowsUsersFile,
    '--dll-log',
    join(logDir, `dll-${name}.log`),
    // Extra workers started while clones and pushes hold workers stop 2 s after they fall
    // idle, so that a test that counts the workers finds the first 2 soon after such load.
    '--worker-idle-timeout',
    '2',
  ];
  const serve = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(serve);
  const logStream = createWriteStream(log);
  serve.stderr.pipe(logStream);
  const url = await new Promise<string>((done, fail) => {
    let text = '';
    const timer = setTimeout(
      () => fail(new Error(`serve (${name}) not ready after 180 s; see ${log}`)),
      180_000,
    );
    serve.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const match = /ready at (\S+)/.exec(text);
      if (match !== null) {
        clearTimeout(timer);
        done(match[1] as string);
      }
    });
    serve.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`serve (${name}) exited ${code} before it was ready; see ${log}`));
    });
  });
  serve.stdout.resume();
  return { name, url, serve, log };
}

/**
 * `kallithea-isapi serve` on a copy of the instance's my.ini (named `name`, in its folder: same
 * database and repositories), with emulated Windows users and `args`, beside the fixture's
 * two. The test stops it.
 */
export async function spawnExtraServe(
  k: KallitheaInstance,
  name: string,
  args: string[],
): Promise<ExtraServe> {
  const config = join(k.dir, name);
  const text = await readFile(join(k.dir, 'my.ini'), 'utf8');
  await writeFile(config, text.replace(/^port = \d+$/m, `port = ${await freePort()}`));
  return spawnServeProcess(config, ['--users', windowsUsersFile, ...args]);
}

/** Builds or reuses the cached instance, copies it, and starts serve at / and /kallithea. */
export async function startKallithea(
  logDir: string = outDir,
): Promise<{ instance: KallitheaInstance; stop(): Promise<void> }> {
  await mkdir(logDir, { recursive: true });
  // The DLL appends to its log; each run starts with empty ones.
  for (const name of ['root', 'vdir']) await rm(join(logDir, `dll-${name}.log`), { force: true });
  const { dir, ports } = await instanceCopy();
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopServe));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    return { instance: await started(dir, ports, children, logDir), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function started(
  dir: string,
  ports: { root: number; vdir: number },
  children: ChildProcess[],
  logDir: string,
): Promise<KallitheaInstance> {
  const [root, vdir, direct] = await Promise.all([
    startServe('root', join(dir, 'my.ini'), '/', children, logDir),
    startServe('vdir', join(dir, 'my-vdir.ini'), '/kallithea', children, logDir),
    startDirect(join(dir, 'my.ini'), ports.root, children, logDir),
  ]);
  const apiKey = await adminApiKey(dir);
  const api = async (method: string, args: Record<string, unknown>): Promise<unknown> => {
    const response = await fetch(new URL('_admin/api', direct.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 1, api_key: apiKey, method, args }),
    });
    const answer = (await response.json()) as { result: unknown; error: unknown };
    if (answer.error !== null) throw new Error(`API ${method}: ${JSON.stringify(answer.error)}`);
    return answer.result;
  };
  const instance: KallitheaInstance = {
    dir,
    reposDir: join(dir, 'repos'),
    root,
    vdir,
    direct: direct.url,
    directPid: direct.pid,
    apiKey,
    api,
    async createRepo(name, type) {
      await api('create_repo', { repo_name: name, repo_type: type });
      for (const [user, perm] of [
        ['bob', 'repository.write'],
        ['carol', 'repository.read'],
      ]) {
        await api('grant_user_permission', { repoid: name, userid: user, perm });
      }
    },
    async userInfo(name) {
      const result = await run(venvPython, [provisionScript, '-c', join(dir, 'my.ini'), 'user-info', name], {
        cwd: dir,
        env: process.env,
      });
      return result.stdout + result.stderr;
    },
  };
  // The cached instance's --check logs in alice and dave; here they must be new.
  for (const user of ['alice', 'dave']) {
    await api('delete_user', { userid: user }).catch(() => undefined);
  }
  return instance;
}

// Root-level hooks, registered once however many test files import this module; skipped
// outside mocha (the benchmark starts the instance itself).
if (typeof before === 'function' && typeof after === 'function') {
  before(async function () {
    this.timeout(600_000);
    const started = await startKallithea();
    instance = started.instance;
    cleanup = started.stop;
  });
  after(async function () {
    this.timeout(120_000);
    await cleanup?.();
    instance = undefined;
  });
}

async function adminApiKey(dir: string): Promise<string> {
  const result = await runOk(
    venvPython,
    [
      '-c',
      'import sqlite3, sys\n' +
        'c = sqlite3.connect(sys.argv[1] + "/kallithea.db")\n' +
        'print(c.execute("select api_key from users where username = ?", (sys.argv[2],)).fetchone()[0])\n',
      dir,
      accounts.admin.user,
    ],
    { cwd: dir, env: process.env },
  );
  return result.stdout.trim();
}
