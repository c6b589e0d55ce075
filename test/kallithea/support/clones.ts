// Long clones for the worker-pool tests: large repositories of incompressible data written
// straight to the server's disk (only the clones go through the path), the worker a clone
// runs on, and summary pages fetched while it runs.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findDescendant } from '../../support/kallithea.js';
import { runOk, writePseudoRandomFiles } from '../../support/vcs.js';
import { get } from './http.js';

export const MiB = 1024 * 1024;

/** Where a large repository is made: the served instance's repositories and its API. */
export interface RepoHome {
  readonly reposDir: string;
  /** A new repository with bob write and carol read. */
  createRepo(name: string, type: 'hg' | 'git'): Promise<void>;
}

/** A git repository of `bytes` incompressible data; resolves its head. */
export async function bigGitRepo(
  home: RepoHome,
  name: string,
  bytes: number,
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  await home.createRepo(name, 'git');
  const serverRepo = join(home.reposDir, name);
  await runOk('git', ['config', 'core.bigFileThreshold', '1m'], { cwd: serverRepo, env });
  await runOk('git', ['config', 'receive.unpackLimit', '1'], { cwd: serverRepo, env });
  const source = join(dir, `${name}-source`);
  await runOk('git', ['init', '-q', '-b', 'master', source], { cwd: dir, env });
  await runOk('git', ['config', 'core.bigFileThreshold', '1m'], { cwd: source, env });
  await writePseudoRandomFiles(source, name, 4, bytes / 4);
  await runOk('git', ['-c', 'core.compression=0', 'add', '.'], { cwd: source, env });
  await runOk('git', ['commit', '-q', '-m', 'data'], { cwd: source, env });
  await runOk('git', ['-c', 'pack.compression=0', 'push', '-q', serverRepo, 'master'], { cwd: source, env });
  const head = (await runOk('git', ['rev-parse', 'master'], { cwd: source, env })).stdout.trim();
  await rm(source, { recursive: true, force: true });
  return head;
}

/** A clone's pack request, answered but not read: the response waits, paused. */
export interface PausedClone {
  readonly response: IncomingMessage;
  /** Reads at least `bytes` more, then pauses again; resolves what it read. */
  read(bytes: number): Promise<Buffer>;
  /** Reads the rest; resolves it. */
  finish(): Promise<Buffer>;
}

/** git's stateless upload-pack request for `head` (one want, no haves, done) as `authorization`. */
export function startClone(url: string, head: string, authorization: string): Promise<PausedClone> {
  const want = `want ${head}\n`;
  const body = `${(4 + want.length).toString(16).padStart(4, '0')}${want}00000009done\n`;
  return new Promise((done, fail) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          Authorization: authorization,
          'User-Agent': 'git/2.39.5',
          'Content-Type': 'application/x-git-upload-pack-request',
          Accept: 'application/x-git-upload-pack-result',
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (response) => {
        response.pause();
        done({
          response,
          read: (bytes) => readFrom(response, bytes),
          finish: () => readFrom(response, Infinity),
        });
      },
    );
    req.once('error', fail);
    req.end(body);
  });
}

/** Reads `response` until `bytes` came (then pauses it) or it ended. */
function readFrom(response: IncomingMessage, bytes: number): Promise<Buffer> {
  return new Promise((read, failed) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const settle = (): void => {
      response.off('data', onData).off('end', settle).off('error', failed);
      read(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      if (length < bytes) return;
      response.pause();
      settle();
    };
    response.on('data', onData).once('end', settle).once('error', failed);
    response.resume();
  });
}

/** An hg repository of `bytes` incompressible data; resolves its tip. */
export async function bigHgRepo(
  home: RepoHome,
  name: string,
  bytes: number,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  await home.createRepo(name, 'hg');
  const serverRepo = join(home.reposDir, name);
  await writePseudoRandomFiles(serverRepo, name, 4, bytes / 4);
  await runOk('hg', ['add', '-q'], { cwd: serverRepo, env });
  await runOk('hg', ['commit', '-q', '-u', 'bob', '-m', 'data'], { cwd: serverRepo, env });
  await runOk('hg', ['update', '-q', 'null'], { cwd: serverRepo, env });
  return (await runOk('hg', ['log', '-r', 'tip', '-T', '{node}'], { cwd: serverRepo, env })).stdout;
}

export interface Pages {
  /** Pages answered (200) while the clone still ran. */
  during: number;
  statuses: number[];
}

/** Pages of `url` every 200 ms until `clone` settles; counts those answered before it did. */
export async function pagesDuring(
  url: string,
  headers: Record<string, string>,
  clone: Promise<unknown>,
): Promise<Pages> {
  let settled = false;
  void clone.finally(() => (settled = true));
  let during = 0;
  const statuses: number[] = [];
  while (!settled) {
    const page = await get(url, headers);
    statuses.push(page.status);
    if (page.status === 200 && !settled) during += 1;
    await sleep(200);
  }
  return { during, statuses };
}

/**
 * The worker that sends a clone its pack (git upload-pack for the POST), once one does: not
 * the short GET of the refs before it, which another worker may serve, and which the bridge
 * would send again to the other worker if its worker died before answering.
 */
export async function workerServingClone(workers: number[]): Promise<number> {
  for (let i = 0; i < 600; i++) {
    for (const pid of workers) {
      if ((await findDescendant(pid, /^(?!.*advertise-refs).*upload-pack/)) !== undefined) return pid;
    }
    await sleep(25);
  }
  throw new Error('no worker runs git for the clone');
}

/** Waits until `test` holds, checking every 100 ms; throws after `ms`. */
export async function until(what: string, test: () => Promise<boolean>, ms = 120_000): Promise<void> {
  for (const end = Date.now() + ms; !(await test()); await sleep(100)) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
  }
}

/** Whether every process of `pids` is gone within `ms`. */
export async function gone(pids: number[], ms = 30_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    if (pids.every((pid) => !existsSync(`/proc/${pid}`))) return true;
  }
  return false;
}
