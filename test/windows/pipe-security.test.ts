// The bridge pipe locked down: libuv creates it with the default descriptor, and the DLL,
// right after checking who serves it, replaces the DACL (shared by every instance of the
// pipe) with a protected one admitting only the worker identity and SYSTEM and denying
// network logons. Read back here through a second process (fixtures/pipe_security.c:
// GetSecurityInfo as SDDL). Wine stores and returns the descriptor but does not enforce it,
// so that a stranger is refused can only be shown on Windows. In connect mode someone else
// made the pipe: the DLL leaves its DACL alone and logs what it admits.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchBuffer, repoRoot } from '../native/support/harness.js';
import { startWinStack, upstreamAndStack, type WinStack } from './support/stack.js';

interface PipeSecurity {
  user: string;
  sddl: string;
  protected: boolean;
}

/** The pipe's owner and DACL as another process of the worker identity reads them. */
function readPipeSecurity(pipe: string): PipeSecurity {
  const tool = process.env['KALLITHEA_ISAPI_WIN_PIPE_SECURITY'];
  assert.ok(tool !== undefined && tool !== '', 'KALLITHEA_ISAPI_WIN_PIPE_SECURITY is not set');
  const out = execFileSync(tool, [pipe], { encoding: 'utf8' }).replace(/\r/g, '');
  const field = (name: string): string => {
    const match = new RegExp(`^${name} (.*)$`, 'm').exec(out);
    assert.ok(match !== null, `no ${name} in: ${out}`);
    return match[1] as string;
  };
  return { user: field('user'), sddl: field('sddl'), protected: field('protected') === 'yes' };
}

/** The pipe the bridge started last listens on, from the DLL's log. */
function bridgePipe(stack: WinStack): string {
  const match = [...stack.log().matchAll(/bridge ready: pid \d+ at pipe:(\\\\\.\\pipe\\[^,\s]+)/g)].at(-1);
  assert.ok(match !== undefined, stack.log());
  return match[1] as string;
}

describe('windows: the bridge pipe locked to the worker identity', function () {
  this.timeout(120_000);
  const live = upstreamAndStack();

  it('reads back a protected DACL: network logons denied, full access for the worker and SYSTEM only', () => {
    const pipe = bridgePipe(live.stack);
    const read = readPipeSecurity(pipe);
    assert.match(read.user, /^S-1-5-/);
    const dacl = `(D;;FA;;;NU)(A;;FA;;;SY)(A;;FA;;;${read.user})`;
    // Nothing else: no Everyone, Anonymous or Administrators entry from libuv's default.
    assert.equal(/D:P?(\(.*\))$/.exec(read.sddl)?.[1], dacl, read.sddl);
    assert.ok(read.protected, `not protected: ${read.sddl}`);
    // The DLL's log says what it set, as it read it back.
    assert.ok(live.stack.log().includes(dacl), live.stack.log());
    assert.doesNotMatch(live.stack.log(), /DACL could not be restricted/);
  });

  it('the bridge goes on making pipe instances under that DACL: 20 new connections are served', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetchBuffer(live.stack.url(`/after-lockdown/${i}`)).then((r) => r.status),
      ),
    );
    assert.deepEqual(
      statuses,
      Array.from({ length: 20 }, () => 200),
    );
  });

  it('connect mode: the DLL leaves the DACL of a pipe it did not create alone and logs what it admits', async () => {
    const pipe = `\\\\.\\pipe\\kallithea-isapi-connect-${randomBytes(8).toString('hex')}`;
    const connect = await startWinStack({
      upstream: live.upstream.origin,
      isapi: ['mode = connect', `bridge_address = pipe:${pipe}`, 'secret_file = hop-secret.txt'],
      prepare: (dir) => writeFileSync(join(dir, 'hop-secret.txt'), randomBytes(32).toString('hex')),
    });
    // The bridge run by someone else: here by hand, with the same ini and secret file.
    const bridge = spawn(
      process.execPath,
      [
        join(repoRoot, 'bin', 'kallithea-isapi.js'),
        'bridge',
        '--config',
        join(connect.dir, 'kallithea-isapi.ini'),
        '--listen',
        `pipe:${pipe}`,
      ],
      {
        env: { ...process.env, KALLITHEA_ISAPI_SECRET_FILE: join(connect.dir, 'hop-secret.txt') },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    try {
      let stderr = '';
      await new Promise<void>((done, fail) => {
        bridge.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString('utf8');
          if (stderr.includes('listening on')) done();
        });
        bridge.once('exit', (code) => fail(new Error(`the bridge exited ${code}: ${stderr}`)));
      });
      const res = await fetchBuffer(connect.url('/connect-mode'));
      assert.equal(res.status, 200, res.body.toString());
      // Wine gives libuv's pipe no descriptor at all; Windows gives it the default DACL.
      const said =
        '(it has no DACL: anyone, also over the network, may connect|its DACL [^\r\n]*network clients)';
      const line = new RegExp(`is served by pid ${bridge.pid}; ${said}`);
      assert.match(connect.log(), line);
      assert.doesNotMatch(readPipeSecurity(pipe).sddl, /\(D;;FA;;;NU\)/);
    } finally {
      bridge.kill();
      await connect.stop();
    }
  });
});
