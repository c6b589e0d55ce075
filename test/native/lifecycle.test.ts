// Loading and unloading: close() waits for outstanding requests, then calls
// TerminateExtension(HSE_TERM_MUST_UNLOAD = 2) once; a host that is never closed still
// terminates the extension when its process or worker thread exits (cleanup hook).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { fixture, repoRoot, startHost } from './support/harness.js';

const run = promisify(execFile);

describe('isapi-host load and unload', () => {
  let dir: string;
  let log: string;
  const previous = process.env['ISAPI_FIXTURE_TERMINATE_LOG'];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'isapi-host-life-'));
    log = join(dir, 'terminate.log');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    if (previous === undefined) delete process.env['ISAPI_FIXTURE_TERMINATE_LOG'];
    else process.env['ISAPI_FIXTURE_TERMINATE_LOG'] = previous;
  });

  it('reports GetExtensionVersion', async () => {
    const running = await startHost('echo_sync');
    try {
      assert.equal(running.host.extension.description, 'isapi-host fixture: synchronous echo');
      assert.equal(running.host.extension.version, 0x00080000);
    } finally {
      await running.stop();
    }
  });

  it('close() lets an outstanding request finish, then calls TerminateExtension(2) once', async () => {
    process.env['ISAPI_FIXTURE_TERMINATE_LOG'] = log;
    const running = await startHost('echo_sync');
    const socket = connect(running.port, '127.0.0.1');
    await new Promise<void>((done) => socket.once('connect', () => done()));
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.write('POST /kallithea/e HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345');
    await new Promise<void>((done) => setTimeout(done, 100));
    running.server.close();
    const closed = running.host.close();
    let terminatedEarly = false;
    await new Promise<void>((done) => setTimeout(done, 100));
    terminatedEarly = existsSync(log);
    const answered = new Promise<void>((done) =>
      socket.on('data', () => {
        if (Buffer.concat(received).toString().endsWith('1234567890')) done();
      }),
    );
    socket.write('67890');
    await answered;
    await closed;
    socket.destroy();
    assert.equal(terminatedEarly, false, 'TerminateExtension ran while a request was outstanding');
    assert.match(Buffer.concat(received).toString(), /\r\n\r\n1234567890$/);
    assert.equal(readFileSync(log, 'utf8'), 'terminate 2\n');
  });

  const hostModule = pathToFileURL(join(repoRoot, 'dist', 'lib', 'host', 'isapi-host.js')).href;

  it('terminates at process exit when close() was never called', async () => {
    const script = `
      import { IsapiHost } from ${JSON.stringify(hostModule)};
      globalThis.host = new IsapiHost({ dll: ${JSON.stringify(fixture('variables'))} });
    `;
    await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ISAPI_FIXTURE_TERMINATE_LOG: log },
    });
    assert.equal(readFileSync(log, 'utf8'), 'terminate 2\n');
  });

  it('terminates when a worker thread that loaded it exits', async () => {
    const script = `
      import { Worker } from 'node:worker_threads';
      const body = 'import(' + ${JSON.stringify(JSON.stringify(hostModule))} + ').then(({ IsapiHost }) => {' +
        ' globalThis.host = new IsapiHost({ dll: ' + ${JSON.stringify(JSON.stringify(fixture('variables')))} + ' });' +
        ' return import("node:worker_threads"); }).then(({ parentPort }) => parentPort.postMessage("loaded"));';
      const worker = new Worker(body, { eval: true });
      worker.on('message', async () => { await worker.terminate(); process.stdout.write('worker gone\\n'); });
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ISAPI_FIXTURE_TERMINATE_LOG: log },
    });
    assert.equal(stdout, 'worker gone\n');
    assert.equal(readFileSync(log, 'utf8'), 'terminate 2\n');
  });
});
