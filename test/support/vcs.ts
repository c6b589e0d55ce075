// Real hg and git clients for the Kallithea tests: run non-interactively with an empty HOME
// (no user config, no credential helpers, no prompts), and fast generators of incompressible
// file content (AES-CTR keystream from a seed: deterministic, ~1 GB/s, no big buffers).
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

/** A client-side working area with its own empty HOME. */
export async function clientDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `kallithea-client-${prefix}-`));
  await mkdir(join(dir, 'home'));
  return dir;
}

/** Environment for hg/git: nothing from the user's config, never a prompt. */
export function clientEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: join(dir, 'home'),
    HGRCPATH: '',
    HGPLAIN: '1',
    HGUSER: 'Test Client <client@example.com>',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test Client',
    GIT_AUTHOR_EMAIL: 'client@example.com',
    GIT_COMMITTER_NAME: 'Test Client',
    GIT_COMMITTER_EMAIL: 'client@example.com',
    ...extra,
  };
}

/** Runs a command to completion; never throws on a non-zero exit. */
export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? clientEnv(options.cwd),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

/** Runs and throws with the full output unless the exit code is 0. */
export async function runOk(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code ?? result.signal}\n` +
        `stdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
  }
  return result;
}

/** hg, never asking anything (--noninteractive answers prompts with their default). */
export function hg(args: string[], options: RunOptions): Promise<RunResult> {
  return run('hg', ['--noninteractive', ...args], options);
}

export function git(args: string[], options: RunOptions): Promise<RunResult> {
  return run('git', args, options);
}

/** base (ending in /) with user:password inserted, plus the repository name. */
export function repoUrl(base: string, repo: string, user?: string, password?: string): string {
  const url = new URL(repo, base);
  if (user !== undefined) url.username = encodeURIComponent(user);
  if (password !== undefined) url.password = encodeURIComponent(password);
  return url.toString();
}

/** An endless incompressible byte stream determined by seed. */
export function pseudoRandomStream(seed: string, bytes: number): Readable {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const block = Buffer.alloc(1 << 20);
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, block.length);
      left -= n;
      this.push(cipher.update(block.subarray(0, n)));
    },
  });
}

/** Writes `count` files of `size` bytes each (names data-<seed>-<i>.bin) into dir. */
export async function writePseudoRandomFiles(
  dir: string,
  seed: string,
  count: number,
  size: number,
): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `data-${seed}-${i}.bin`;
    await pipeline(pseudoRandomStream(`${seed}/${i}`, size), createWriteStream(join(dir, name)));
    names.push(name);
  }
  return names;
}
