// Kallithea through the Windows chain under Wine: isapi-host (the Windows addon in Windows
// node.exe) -> the Windows DLL -> the bridge it spawns with Windows node.exe on a named pipe
// -> one real Kallithea worker on Linux loopback. Kallithea, hg and git are Linux programs,
// which Windows node.exe cannot start: scripts/test-windows.sh runs them through
// support/linux-side.ts and passes its address in KALLITHEA_ISAPI_WIN_LINUX_SIDE. Without a
// Kallithea instance (scripts/kallithea-instance.sh) these tests are skipped, and say why.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fetchBuffer, repoRoot } from '../native/support/harness.js';
import type { LinuxSide } from './support/linux-side.js';
import { startWinStack, waitForBridge, type WinStack } from './support/stack.js';

const bob = { user: 'bob', password: process.env['KALLITHEA_BOB_PASSWORD'] ?? 'bob-secret-1' };

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function linuxSide(): LinuxSide | undefined {
  const text = process.env['KALLITHEA_ISAPI_WIN_LINUX_SIDE'];
  return text === undefined || text === '' ? undefined : (JSON.parse(text) as LinuxSide);
}

/** Runs hg or git on Linux (support/linux-side.ts) and throws unless it exits 0. */
async function onLinux(side: LinuxSide, command: 'hg' | 'git', args: string[]): Promise<RunResult> {
  // node:http, not fetch: undici's connector enables TCP keep-alive while connecting, which
  // fails under Wine (the same reason as upstream_tcp_keepalive = off).
  const res = await fetchBuffer(`${side.relay}/run`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Relay-Token': side.token },
    body: JSON.stringify({ command, args }),
  });
  const result = JSON.parse(res.body.toString('utf8')) as RunResult & { error?: string };
  assert.equal(res.status, 200, result.error);
  assert.equal(result.code, 0, `${command} ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe('windows: Kallithea through the Windows chain', function () {
  this.timeout(180_000);
  const side = linuxSide();
  let stack: WinStack;

  before(async function () {
    if (side?.failure !== undefined) throw new Error(side.failure);
    if (side?.kallithea === undefined) {
      console.log(
        `    skipped: ${side?.reason ?? 'KALLITHEA_ISAPI_WIN_LINUX_SIDE is not set (run scripts/test-windows.sh)'}`,
      );
      this.skip();
    }
    stack = await startWinStack({
      upstream: side.kallithea.replace(/\/$/, ''),
      // IIS with Windows and anonymous authentication: alice is a Windows login, bob's
      // Kallithea credentials pass through to Kallithea.
      auth: {
        mode: 'basic',
        usersFile: join(repoRoot, 'scripts', 'kallithea', 'windows-users.txt'),
        anonymousFallback: true,
      },
    });
    await waitForBridge(stack);
  });
  after(async () => {
    await stack?.stop();
  });

  it("the hg repository's summary page, for the Windows login CORP\\alice", async () => {
    const page = await fetchBuffer(stack.url('/hgrepo'), {
      headers: { Authorization: `Basic ${Buffer.from('alice:alice-pass').toString('base64')}` },
    });
    const html = page.body.toString('utf8');
    assert.equal(page.status, 200, html.slice(0, 500));
    // AUTH_USER reached Kallithea's container plugin through the DLL and the bridge.
    assert.match(html, /<span class="menu_link_user">alice<\/span>/);
    assert.match(html, /hgrepo/);
    assert.match(html, /Summary/);
  });

  for (const [command, repo] of [
    ['hg', 'hgrepo'],
    ['git', 'gitrepo'],
  ] as const) {
    it(`${command} clone of ${repo} as bob gets the repository's tip`, async () => {
      const s = side as LinuxSide;
      const url = new URL(`/${repo}`, stack.url('/'));
      url.username = bob.user;
      url.password = bob.password;
      const into = `${repo}-${Date.now()}`;
      const server = join(s.reposDir as string, repo).replace(/\\/g, '/');
      let cloned: string;
      let served: string;
      if (command === 'hg') {
        await onLinux(s, 'hg', ['--noninteractive', 'clone', url.toString(), into]);
        cloned = (await onLinux(s, 'hg', ['-R', into, 'log', '-r', 'tip', '-T', '{node}'])).stdout;
        served = (await onLinux(s, 'hg', ['-R', server, 'log', '-r', 'tip', '-T', '{node}'])).stdout;
      } else {
        await onLinux(s, 'git', ['clone', '-q', url.toString(), into]);
        cloned = (await onLinux(s, 'git', ['-C', into, 'rev-parse', 'HEAD'])).stdout;
        served = (await onLinux(s, 'git', ['--git-dir', server, 'rev-parse', 'HEAD'])).stdout;
      }
      assert.match(served.trim(), /^[0-9a-f]{40}$/);
      assert.equal(cloned.trim(), served.trim());
    });
  }

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(stack.running.host.violations(), []);
  });
});
