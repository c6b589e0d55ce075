// The status page's parts without the DLL: who gets it, the [status] section, the DLL's param
// read defensively, secrets masked, the page never forwarded, and an error page's id in its
// log line.
import assert from 'node:assert/strict';
import { UpstreamUnreachableError } from '../../../lib/bridge/errors.js';
import { errorPages } from '../../../lib/bridge/middleware/error-pages/index.js';
import { bodyOf } from '../../../lib/bridge/pipeline/types.js';
import { statusPage } from '../../../lib/bridge/middleware/status-page/index.js';
import { isLoopback, statusAccess } from '../../../lib/bridge/status/access.js';
import { readDllFigures } from '../../../lib/bridge/status/dll-figures.js';
import { RequestTally } from '../../../lib/bridge/status/request-tally.js';
import { maskSecrets, type StatusSources } from '../../../lib/bridge/status/snapshot.js';
import { statusUrl } from '../../../lib/cli/commands/status.js';
import { checkStatusSection } from '../../../lib/config/status-section.js';
import { parsePrometheusText, sample } from '../../support/prometheus-text.js';
import { captureStart, readBody, testEnviron } from '../../support/environ.js';

const DLL = JSON.stringify({
  version: '9.9.9',
  uptime_ms: 61000,
  mode: 'spawn',
  requests_in_flight: 3,
  requests_queued: 1,
  connections: 4,
  idle_connections: 1,
  max_connections: 64,
  max_queued: 1000,
  bridge_state: 'ready',
  bridge_restarts: 2,
  last_failure: 'bridge exited: pid 7 (exit code 1) postgresql://kallithea:hunter2@db/k',
  last_failure_unix_ms: 1_700_000_000_000,
});

function sources(): StatusSources {
  const tally = new RequestTally();
  tally.started();
  tally.finished(502);
  tally.started(); // a request in flight
  tally.started(); // the status request itself
  return {
    version: '9.9.9',
    startedAt: Date.now() - 5000,
    tally,
    kallithea: 'workers',
    upstream: () => ({ inFlight: 1, queued: 0, connections: 2, idleConnections: 1, maxConnections: 2 }),
    workers: () => [
      {
        name: 'w1',
        state: 'ready',
        pid: 11,
        address: 'unix:/private/w1.sock',
        busy: true,
        extra: false,
        restarts: 0,
        lastFailure: undefined,
      },
      {
        name: 'w2',
        state: 'backoff',
        pid: undefined,
        address: 'unix:/private/w2.sock',
        busy: false,
        extra: true,
        restarts: 1,
        lastFailure: 'exited (password=swordfish)',
      },
    ],
  };
}

describe('status page', () => {
  it('lets in loopback addresses only, in every spelling', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '[::1]']) {
      assert.ok(isLoopback(address), address);
    }
    for (const address of ['192.0.2.2', '10.0.0.1', '::2', '::ffff:10.0.0.1', 'fe80::1', '', 'localhost']) {
      assert.ok(!isLoopback(address), address);
    }
  });

  it('lets a listed Windows user in from anywhere, by the user IIS authenticated', () => {
    const users = ['CORP\\alice'];
    const from = (params: Record<string, string>) =>
      statusAccess(testEnviron({ REMOTE_ADDR: '192.0.2.9', ...params }), users);
    assert.equal(from({ REMOTE_USER: 'corp\\ALICE' }).allowed, true);
    assert.equal(from({ REMOTE_USER: 'CORP\\dave' }).allowed, false);
    assert.equal(from({ HTTP_X_FORWARDED_USER: 'CORP\\alice' }).allowed, false);
    assert.equal(from({}).allowed, false);
  });

  it('reads [status] users, and refuses what is not a list of names', () => {
    assert.deepEqual(
      checkStatusSection('k.ini', { users: ' CORP\\alice , bob@corp.example ' }).settings.users,
      ['CORP\\alice', 'bob@corp.example'],
    );
    assert.deepEqual(checkStatusSection('k.ini', { users: '' }).settings.users, []);
    assert.equal(
      checkStatusSection('k.ini', { users: 'CORP\\alice,,bob' }).problems[0]?.key,
      '[status] users',
    );
    assert.equal(checkStatusSection('k.ini', { viewers: 'x' }).problems[0]?.problem, 'unknown key');
  });

  it("reads the DLL's figures, and says so when they are damaged", () => {
    const figures = readDllFigures(Buffer.from(DLL, 'utf8').toString('latin1'));
    assert.ok(figures !== undefined && !('problem' in figures));
    assert.equal(figures.requestsInFlight, 3);
    assert.equal(figures.uptimeSeconds, 61);
    assert.equal(readDllFigures(undefined), undefined);
    assert.match((readDllFigures('{') as { problem: string }).problem, /not JSON/);
    assert.match((readDllFigures('{"version":"1"}') as { problem: string }).problem, /lack .*uptime_ms/);
  });

  it('kallithea-isapi status asks below the application, root or virtual directory', () => {
    assert.equal(statusUrl('http://localhost/'), 'http://localhost/~kallithea-isapi/status?format=json');
    assert.equal(
      statusUrl('https://localhost:8443/kallithea'),
      'https://localhost:8443/kallithea/~kallithea-isapi/status?format=json',
    );
  });

  it('masks passwords in free text', () => {
    assert.equal(maskSecrets('postgresql://k:hunter2@db/x'), 'postgresql://k:***@db/x');
    assert.equal(maskSecrets('password=swordfish, secret: "a b"'), 'password=***, secret: ***');
    assert.equal(maskSecrets('bridge exited: pid 7 (signal 9)'), 'bridge exited: pid 7 (signal 9)');
  });

  it('answers its path itself in three forms, with no secret, and passes every other path on', async () => {
    const page = statusPage({ sources: sources(), users: [], log: () => undefined });
    const never = async (): Promise<never> => {
      throw new Error('the status page was forwarded');
    };
    const get = async (query: string) => {
      const captured = captureStart();
      const environ = testEnviron({
        REMOTE_ADDR: '127.0.0.1',
        PATH_INFO: '/~kallithea-isapi/status',
        QUERY_STRING: query,
        KALLITHEA_ISAPI_DLL_STATUS: DLL,
      });
      const body = (await readBody(await page(environ, captured.start, never))).toString();
      return { status: captured.status, body };
    };
    const json = await get('format=json');
    assert.equal(json.status, 200);
    const snapshot = JSON.parse(json.body) as {
      dll: { lastFailure: { message: string } };
      bridge: Record<string, unknown>;
    };
    assert.equal(
      snapshot.dll.lastFailure.message,
      'bridge exited: pid 7 (exit code 1) postgresql://kallithea:***@db/k',
    );
    assert.equal(snapshot.bridge.requestsInFlight, 1);
    assert.deepEqual(snapshot.bridge.errorsByStatus, { 502: 1 });
    for (const form of [json.body, (await get('')).body, (await get('format=prometheus')).body]) {
      assert.doesNotMatch(form, /hunter2|swordfish|\/private\/|X-Forwarded-User/);
    }
    const families = parsePrometheusText((await get('format=prometheus')).body);
    assert.equal(sample(families, 'kallithea_isapi_dll_requests_in_flight'), 3);
    assert.equal(sample(families, 'kallithea_isapi_bridge_responses_total', { status: '502' }), 1);
    assert.equal(sample(families, 'kallithea_isapi_worker_state', { worker: 'w2', state: 'backoff' }), 1);
    assert.equal(sample(families, 'kallithea_isapi_worker_busy', { worker: 'w1' }), 1);
    assert.equal((await get('format=xml')).status, 400);

    let forwarded = false;
    await page(testEnviron({ PATH_INFO: '/~kallithea-isapi/status/x' }), captureStart().start, async () => {
      forwarded = true;
      return bodyOf();
    });
    assert.ok(forwarded);
  });

  it('an error page names the id its log line starts with', async () => {
    const logged: string[] = [];
    const captured = captureStart();
    const environ = testEnviron({ HTTP_ACCEPT: 'text/html' });
    const body = await errorPages({ log: (line) => logged.push(line) })(environ, captured.start, async () => {
      throw new UpstreamUnreachableError('http://127.0.0.1:5000', 'ECONNREFUSED');
    });
    const id = captured.headers?.find(([name]) => name === 'X-Kallithea-Isapi-Error-Id')?.[1] ?? '';
    assert.match(id, /^[0-9a-f]{12}$/);
    assert.match((await readBody(body)).toString(), new RegExp(`error id <code>${id}</code>`));
    assert.ok(logged.at(-1)?.startsWith(`error page ${id}: GET /: `), logged.at(-1));
    assert.equal(environ['kallithea_isapi.error_id'], id);
  });
});
