// The Linux half of the Windows Kallithea smoke test, run by scripts/test-windows.sh with
// Linux node before the Windows mocha starts: Kallithea is Linux Python and hg and git are
// Linux programs, which Windows node.exe under Wine cannot start. It
// - copies the cached Kallithea instance (scripts/kallithea-instance.sh; absent: says so and
//   serves no Kallithea) and runs one Kallithea worker on a loopback port, the upstream the
//   Windows bridge forwards to;
// - runs hg and git for the Windows tests: POST /run {command, args} with the token in
//   X-Relay-Token, answered {code, stdout, stderr}; only hg and git, in a private folder.
// Prints one JSON line (LinuxSide) on stdout once ready; stops when stdin closes.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { cachedInstance, instanceCopy, repoRoot, startDirect } from '../../support/kallithea.js';
import { clientDir, clientEnv, run } from '../../support/vcs.js';

export interface LinuxSide {
  /** The Kallithea worker's origin, ending in '/'; absent when there is no instance. */
  kallithea?: string;
  /** Why there is no Kallithea: no instance (the tests are skipped) ... */
  reason?: string;
  /** ... or it would not start (the tests fail with this). */
  failure?: string;
  /** The copy's repositories (Linux path), to compare clones with. */
  reposDir?: string;
  relay: string;
  token: string;
}

const commands = new Set(['hg', 'git']);

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const folders: string[] = [];
  const side: LinuxSide = { relay: '', token: randomBytes(32).toString('hex') };
  if (existsSync(join(cachedInstance, 'stamp'))) {
    try {
      const { dir, ports } = await instanceCopy();
      folders.push(dir);
      // Kept after the run: the worker's output (direct.log), for when it would not start.
      const logDir = join(repoRoot, '.cache', 'logs', 'test-windows-kallithea');
      await mkdir(logDir, { recursive: true });
      const direct = await startDirect(join(dir, 'my.ini'), ports.root, children, logDir);
      side.kallithea = direct.url;
      side.reposDir = join(dir, 'repos');
    } catch (error) {
      side.failure = `Kallithea did not start: ${String(error)}`;
    }
  } else {
    side.reason = `no Kallithea instance in ${cachedInstance} (bash scripts/kallithea-instance.sh builds it)`;
  }
  const work = await clientDir('windows');
  folders.push(work);
  const token = Buffer.from(side.token);
  const server = createServer((req, res) => {
    const answer = (status: number, value: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
    };
    const given = Buffer.from(String(req.headers['x-relay-token'] ?? ''));
    if (
      req.method !== 'POST' ||
      req.url !== '/run' ||
      given.length !== token.length ||
      !timingSafeEqual(given, token)
    ) {
      answer(403, { error: 'POST /run with X-Relay-Token' });
      return;
    }
    body(req)
      .then(async (value) => {
        const { command, args } = value as { command: string; args: string[] };
        if (!commands.has(command) || !Array.isArray(args)) throw new Error(`not run: ${command}`);
        answer(200, await run(command, args, { cwd: work, env: clientEnv(work) }));
      })
      .catch((error: unknown) => answer(400, { error: String(error) }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const address = server.address();
  side.relay = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  process.stdout.write(`${JSON.stringify(side)}\n`);

  const stop = async (): Promise<void> => {
    server.closeAllConnections();
    server.close();
    for (const child of children) child.kill('SIGTERM');
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
    process.exit(0);
  };
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`linux-side: ${String(error)}\n`);
  process.exit(1);
});
