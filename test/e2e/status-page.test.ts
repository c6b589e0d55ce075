// The status page through the whole path (isapi-host -> DLL -> bridge -> a stand-in Kallithea
// that holds its responses): a request held by Kallithea shows in flight in the DLL's and the
// bridge's figures, in JSON, HTML and the Prometheus text (checked by a parser); only the
// local machine and the listed Windows users get it; a killed bridge shows as a restart with
// its failure; and an error page's id is the one its log line carries.
//
// The non-local requests are real: the host listens on every address, and the test connects
// to this machine's own non-loopback address, so the TCP peer (REMOTE_ADDR) is that address,
// as IIS would see a request from this machine's LAN address. Without a non-loopback
// address the test fails rather than pass without checking.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, fetchBuffer, repoRoot, type SimpleResponse } from '../native/support/harness.js';
import { HeldUpstream } from '../support/held-upstream.js';
import { parsePrometheusText, sample } from '../support/prometheus-text.js';
import { runCli } from '../unit/cli/run-cli.js';
import { startStack, waitForBridge, type Stack } from './support/stack.js';

const STATUS = '/~kallithea-isapi/status';
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

function nonLoopbackAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address to send a non-local request from');
}

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

interface Snapshot {
  dll: {
    version: string;
    requestsInFlight: number;
    bridgeState: string;
    bridgeRestarts: number;
    lastFailure: { message: string } | null;
  } | null;
  bridge: {
    version: string;
    requestsInFlight: number;
    upstream: { inFlight: number };
    responsesByStatus: Record<string, number>;
  };
}

describe('e2e: status page', function () {
  this.timeout(120_000);
  let upstream: HeldUpstream;
  let stack: Stack;
  const folder = mkdtempSync(join(tmpdir(), 'kallithea-isapi-status-'));

  before(async () => {
    upstream = await new HeldUpstream().listen();
    const users = join(folder, 'windows-users.txt');
    writeFileSync(users, 'alice:alice-pass\ndave:dave-pass\n');
    stack = await startStack({
      upstream: upstream.origin,
      hostArgs: ['--host', '0.0.0.0', '--auth', `basic:${users}`, '--anonymous-fallback'],
      ini: ['[status]', 'users = CORP\\alice'],
    });
    await waitForBridge(stack);
  });
  after(async () => {
    await stack?.stop();
    await upstream?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  const status = async (
    format: string,
    at = '127.0.0.1',
    headers: Record<string, string> = {},
  ): Promise<SimpleResponse> =>
    fetchBuffer(`http://${at}:${stack.host.port}${STATUS}${format === '' ? '' : `?format=${format}`}`, {
      headers,
    });

  it('shows a request Kallithea holds in flight, as JSON, HTML and Prometheus text', async () => {
    const held = fetchBuffer(stack.url('/repo/slow-clone'));
    await upstream.arrived();

    const json = await status('json');
    assert.equal(json.status, 200);
    assert.match(String(json.headers['content-type']), /^application\/json/);
    const snapshot = JSON.parse(json.body.toString()) as Snapshot;
    assert.ok(snapshot.dll !== null, json.body.toString());
    assert.equal(snapshot.dll.version, version);
    assert.equal(snapshot.dll.requestsInFlight, 1);
    assert.equal(snapshot.dll.bridgeState, 'ready');
    assert.equal(snapshot.bridge.version, version);
    assert.equal(snapshot.bridge.requestsInFlight, 1);
    assert.equal(snapshot.bridge.upstream.inFlight, 1);

    const prometheus = await status('prometheus');
    assert.equal(prometheus.status, 200);
    assert.match(String(prometheus.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(prometheus.body.toString());
    assert.equal(sample(families, 'kallithea_isapi_dll_requests_in_flight'), 1);
    assert.equal(sample(families, 'kallithea_isapi_bridge_requests_in_flight'), 1);
    assert.equal(sample(families, 'kallithea_isapi_upstream_requests_in_flight'), 1);
    assert.equal(sample(families, 'kallithea_isapi_dll_bridge_state', { state: 'ready' }), 1);
    assert.equal(sample(families, 'kallithea_isapi_bridge_info', { version }), 1);
    assert.ok(families.has('kallithea_isapi_bridge_process_resident_memory_bytes'));

    const html = await status('');
    assert.equal(html.status, 200);
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.match(html.body.toString(), /<th>requests in flight<\/th><td>1 \(not counting this one\)<\/td>/);

    // The same from the command line, as JSON and as the page's sections in text.
    const application = `http://127.0.0.1:${stack.host.port}/`;
    const cliJson = await runCli(['status', '--url', application, '--json']);
    assert.equal(cliJson.code, 0, cliJson.stderr);
    assert.equal((JSON.parse(cliJson.stdout) as Snapshot).dll?.requestsInFlight, 1);
    const cliText = await runCli(['status', '--url', application]);
    assert.equal(cliText.code, 0, cliText.stderr);
    assert.match(cliText.stdout, /^ISAPI extension \(DLL\)$/m);
    assert.match(cliText.stdout, /^ {2}requests in flight +1 \(not counting this one\)$/m);

    upstream.release('cloned');
    assert.equal((await held).body.toString(), 'cloned');
    // The client has its whole body a moment before the DLL calls DONE_WITH_SESSION and stops
    // counting the request: read again until it has.
    let after = JSON.parse((await status('json')).body.toString()) as Snapshot;
    for (
      let i = 0;
      i < 50 && (after.dll?.requestsInFlight !== 0 || after.bridge.requestsInFlight !== 0);
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = JSON.parse((await status('json')).body.toString()) as Snapshot;
    }
    assert.equal(after.dll?.requestsInFlight, 0);
    assert.equal(after.bridge.requestsInFlight, 0);
    assert.ok((after.bridge.responsesByStatus['200'] ?? 0) >= 1, JSON.stringify(after.bridge));
  });

  it('answers 403 to another address unless IIS authenticated a listed Windows user', async () => {
    const lan = nonLoopbackAddress();
    assert.equal((await status('json', lan)).status, 403, 'anonymous from a non-local address');
    assert.equal(
      (await status('json', lan, basic('dave', 'dave-pass'))).status,
      403,
      'CORP\\dave is not listed',
    );
    assert.equal(
      (await status('json', lan, { 'X-Forwarded-User': 'CORP\\alice', 'Remote-User': 'CORP\\alice' })).status,
      403,
      'a header naming a listed user counts for nothing',
    );
    const alice = await status('json', lan, basic('alice', 'alice-pass'));
    assert.equal(alice.status, 200, 'CORP\\alice is listed');
    assert.ok((JSON.parse(alice.body.toString()) as Snapshot).dll !== null);
    assert.match(stack.log(), /status page refused \(403\): user CORP\\dave is not in \[status\] users/);
  });

  it('counts a killed bridge as a restart, with its failure', async () => {
    const pid = stack.bridgePid();
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');
    assert.ok(await eventually(() => (stack.bridgePid() ?? pid) !== pid, 1000), stack.log());
    const snapshot = JSON.parse((await status('json')).body.toString()) as Snapshot;
    assert.equal(snapshot.dll?.bridgeRestarts, 1);
    assert.match(
      snapshot.dll?.lastFailure?.message ?? '',
      new RegExp(`bridge exited: pid ${pid} \\(signal 9\\)`),
    );
  });

  it("names an error page's id in its header, its text and the bridge's log line", async () => {
    const doomed = fetchBuffer(stack.url('/repo/doomed'));
    await upstream.arrived();
    // Kallithea drops the connection before answering. The bridge restarted by the test
    // before has had no answer from it yet, so it takes Kallithea for starting: 503.
    await upstream.close();
    const page = await doomed;
    assert.equal(page.status, 503);
    assert.equal(page.headers['retry-after'], '5');
    const id = String(page.headers['x-kallithea-isapi-error-id']);
    assert.match(id, /^[0-9a-f]{12}$/);
    assert.match(page.body.toString(), new RegExp(`error id <code>${id}</code>`));
    assert.ok(
      await eventually(() => stack.log().includes(`error page ${id}: GET /repo/doomed: ERR_UPSTREAM_`), 500),
      stack.log(),
    );
    assert.ok(await eventually(() => stack.log().includes(`error_id=${id}`), 500), 'access log line');
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(stack.violations(), []);
  });
});
