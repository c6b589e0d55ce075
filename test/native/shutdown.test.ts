// Issue 9, shutdown that always ends: `kallithea-isapi host` stopped by SIGTERM with a
// request in flight exits 0 (it exited 13, once SIGABRT, when the event function was
// unreferenced and a teardown call threw out of the N-API callback); a close() that is not
// drained neither calls TerminateExtension nor unloads the extension, and still returns.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startStack, waitForBridge } from '../e2e/support/stack.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { eventually, fixture, repoRoot, startHostProcess } from './support/harness.js';

const run = promisify(execFile);

describe('isapi-host shutdown (issue 9)', function () {
  this.timeout(300_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'isapi-host-shutdown-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('with the DLL', () => {
    let upstream: Upstream;
    before(async () => {
      upstream = await startUpstream();
    });
    after(() => upstream.stop());

    it('SIGTERM with a request in flight: exit 0, 20 runs of 20', async () => {
      const outcomes: string[] = [];
      for (let i = 0; i < 20; i++) {
        const stack = await startStack({ upstream: `http://127.0.0.1:${upstream.port}` });
        try {
          await waitForBridge(stack);
          const socket = connect(stack.host.port, '127.0.0.1');
          socket.on('error', () => undefined);
          const target = `/hang-${i}`;
          socket.write(`GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`);
          // In flight: the upstream has it and is not answering.
          assert.ok(await eventually(() => upstream.requests.some((r) => r.target === target)));
          const exited = new Promise<string>((done) =>
            stack.host.child.once('exit', (code, signal) => done(`${code}/${signal}`)),
          );
          stack.host.child.kill('SIGTERM');
          outcomes.push(await exited);
          socket.destroy();
          if (outcomes.at(-1) !== '0/null') outcomes.push(stack.host.stderr());
        } finally {
          await stack.stop();
        }
      }
      assert.deepEqual(outcomes, Array<string>(20).fill('0/null'));
    });
  });

  it('a hung PENDING request at close() (non-verify): no TerminateExtension, no unload, the process exits', async () => {
    const log = join(dir, 'terminate.log');
    const hostModule = pathToFileURL(join(repoRoot, 'dist', 'lib', 'host', 'isapi-host.js')).href;
    const script = `
      import { createServer, get } from 'node:http';
      import { IsapiHost } from ${JSON.stringify(hostModule)};
      const host = new IsapiHost({ dll: ${JSON.stringify(fixture('verifier_breaker'))},
        verify: false, closeTimeoutMs: 200 });
      const logs = [];
      host.on('log', (line) => logs.push(line));
      const server = createServer((q, s) => host.handle(q, s));
      server.listen(0, '127.0.0.1', () => {
        const req = get({ port: server.address().port, host: '127.0.0.1', path: '/b?rule=done_never' });
        req.on('error', () => {});
        setTimeout(async () => {
          server.close();
          server.closeAllConnections();
          await host.close();
          process.stdout.write(JSON.stringify({ live: host.liveRequests, held: host.heldRequests, logs }));
        }, 300);
      });
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ISAPI_FIXTURE_TERMINATE_LOG: log },
      timeout: 60_000,
    });
    const report = JSON.parse(stdout) as { live: number; held: number; logs: string[] };
    assert.equal(report.held, 0);
    assert.match(
      report.logs.join('\n'),
      /1 request\(s\) still outstanding at close: TerminateExtension not called/,
    );
    assert.equal(existsSync(log), false, 'TerminateExtension was called with a request outstanding');
  });

  it('the same through the CLI: SIGTERM with a hung PENDING request, exit 0', async () => {
    const log = join(dir, 'terminate.log');
    const host = await startHostProcess(['--dll', fixture('verifier_breaker'), '--close-timeout', '200'], {
      ISAPI_FIXTURE_TERMINATE_LOG: log,
    });
    const socket = connect(host.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /b?rule=done_never HTTP/1.1\r\nHost: h\r\n\r\n');
    await new Promise((done) => setTimeout(done, 200));
    const exited = new Promise<string>((done) =>
      host.child.once('exit', (code, signal) => done(`${code}/${signal}`)),
    );
    host.child.kill('SIGTERM');
    assert.equal(await exited, '0/null', host.stderr());
    socket.destroy();
    assert.match(host.stderr(), /still outstanding at close/);
    assert.equal(existsSync(log) ? readFileSync(log, 'utf8') : '', '');
  });
});
