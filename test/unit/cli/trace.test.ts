// `kallithea-isapi trace` as a real child process: it shows the last lines, then follows a log
// being appended, truncated and replaced (rotated); --errors keeps error lines and their stack
// traces only. Stopped with SIGINT, as an administrator's Ctrl+C would.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCli, waitFor } from './run-cli.js';

describe('kallithea-isapi trace', function () {
  this.timeout(30_000);
  let dir: string;
  let ini: string;
  let dllLog: string;
  let accessLog: string;
  let child: ChildProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kisapi-trace-'));
    dllLog = path.join(dir, 'kallithea_isapi.log');
    accessLog = path.join(dir, 'access.log');
    ini = path.join(dir, 'kallithea-isapi.ini');
    writeFileSync(
      ini,
      '[isapi]\nbridge_script = /x/bin/kallithea-isapi.js\nlog_file = kallithea_isapi.log\n[bridge]\naccess_log = access.log\n',
    );
    writeFileSync(dllLog, 'old 1\nold 2\nold 3\n');
  });
  afterEach(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function stop(c: ChildProcess): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    c.kill('SIGINT');
    return exited;
  }

  it('shows the last N lines, then follows appends, truncation and rotation until SIGINT', async () => {
    const trace = startCli(['trace', '--config', ini, '--lines', '2']);
    child = trace.child;
    await waitFor(() => trace.errors().includes('following'), 'trace to start');
    assert.match(trace.output(), /kallithea_isapi\.log: old 2\nkallithea_isapi\.log: old 3\n/);
    assert.doesNotMatch(trace.output(), /old 1/);

    appendFileSync(dllLog, 'new 1\npartial');
    await waitFor(() => trace.output().includes('new 1\n'), 'the appended line');
    appendFileSync(dllLog, ' line\n');
    await waitFor(
      () => trace.output().includes('kallithea_isapi.log: partial line\n'),
      'a line written in two parts',
    );

    appendFileSync(accessLog, '2025-01-01T00:00:00.000Z 10.0.0.5 alice "GET /repo" 200 12 3ms\n');
    await waitFor(
      () => trace.output().includes('access.log: 2025-01-01'),
      'the access log, created after start',
    );

    truncateSync(dllLog, 0);
    await waitFor(() => trace.errors().includes('truncated'), 'the truncation notice');
    appendFileSync(dllLog, 'after truncation\n');
    await waitFor(() => trace.output().includes('after truncation\n'), 'a line after truncation');

    renameSync(dllLog, `${dllLog}.1`);
    writeFileSync(dllLog, 'after rotation\n');
    await waitFor(() => trace.output().includes('after rotation\n'), 'a line in the rotated-in file');

    assert.equal(await stop(trace.child), 0);
  });

  it('--errors keeps error lines with their stack-trace lines only', async () => {
    const trace = startCli(['trace', '--config', ini, '--errors']);
    child = trace.child;
    await waitFor(() => trace.errors().includes('following'), 'trace to start');
    appendFileSync(
      dllLog,
      [
        'INFO bridge started pid 42',
        'ERROR uncaught exception in request 7: TypeError: x is undefined',
        '    at handler (file:///app/lib/bridge/forwarder.js:10:5)',
        '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
        'INFO request 8 done',
        'Traceback (most recent call last):',
        '  File "kallithea/lib/base.py", line 1, in __call__',
        'ValueError: bad',
        'INFO the end',
        '',
      ].join('\n'),
    );
    appendFileSync(accessLog, '2025 10.0.0.5 - "GET /a" 200 1 1ms\n2025 10.0.0.5 - "GET /b" 502 0 5ms\n');
    await waitFor(
      () => trace.output().includes('ValueError: bad') && trace.output().includes('"GET /b"'),
      'the errors',
    );
    await new Promise((resolve) => setTimeout(resolve, 300)); // let any wrongly kept line arrive
    const shown = trace.output();
    assert.match(shown, /ERROR uncaught exception in request 7/);
    assert.match(shown, /^kallithea_isapi\.log: {5}at handler \(file:/m);
    assert.match(shown, /processTicksAndRejections/);
    assert.match(shown, /Traceback \(most recent call last\):\nkallithea_isapi\.log: {3}File "kallithea/);
    assert.doesNotMatch(shown, /INFO/);
    assert.doesNotMatch(shown, /"GET \/a"/);
    assert.equal(await stop(trace.child), 0);
  });
});
