// Raw bytes >= 0x80 in the request-target, as http.sys takes them (Node's parser alone
// answers 400): on one keep-alive connection, behind a chunked and a Content-Length POST
// whose bodies hold such bytes and a fake request line, the extension sees the target as
// sent in UNENCODED_URL/HTTP_URL and the canonical path in URL/PATH_INFO/UNICODE_URL; a
// path that is not UTF-8 is read as the ANSI code page (KB 820129 defaults); a raw byte in a
// header value arrives as before. Over TLS the same holds for the decrypted stream.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { makeTestCertificate } from '../support/test-certificate.js';
import {
  rawExchange,
  startHost,
  variableValue,
  hexText,
  type RunningHost,
  type VariableReport,
} from './support/harness.js';

const NAMES = 'URL,PATH_INFO,UNICODE_URL,UNICODE_PATH_INFO,UNENCODED_URL,HTTP_URL,QUERY_STRING,HTTP_X_RAW';
const bytes = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
const FAKE_LINE = 'GET /kallithea/\xe9 HTTP/1.1\r\n\r\n\xff\xfe';

function post(target: string, chunked: boolean): string {
  const framing = chunked
    ? `Transfer-Encoding: chunked\r\n\r\n${FAKE_LINE.length.toString(16)}\r\n${FAKE_LINE}\r\n0\r\n\r\n`
    : `Content-Length: ${FAKE_LINE.length}\r\n\r\n${FAKE_LINE}`;
  return `POST ${target} HTTP/1.1\r\nHost: t\r\nX-Var-Names: ${NAMES}\r\n${framing}`;
}

function get(target: string, last = false): string {
  const close = last ? 'Connection: close\r\n' : '';
  return `GET ${target} HTTP/1.1\r\nHost: t\r\nX-Raw: caf\xe9\r\nX-Var-Names: ${NAMES}\r\n${close}\r\n`;
}

/** Splits pipelined responses (each with a Content-Length) into status and body. */
function responses(raw: Buffer): Array<{ status: number; report: VariableReport }> {
  const out: Array<{ status: number; report: VariableReport }> = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    assert.ok(headEnd > 0, `no head in ${raw.subarray(at).toString('latin1')}`);
    const head = raw.subarray(at, headEnd).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    const body = raw.subarray(headEnd + 4, headEnd + 4 + length);
    out.push({
      status: Number(head.slice(9, 12)),
      report: JSON.parse(body.toString('latin1')) as VariableReport,
    });
    at = headEnd + 4 + length;
  }
  return out;
}

const RAW_TARGET = bytes('/kallithea/répo/café?x=é');
const RAW_PATH_ANSI = '/kallithea/r\xe9po/caf\xe9'; // 1252
const RAW_PATH_TEXT = '/kallithea/répo/café';

function assertRawTargetSeen(report: VariableReport, target: string): void {
  assert.equal(variableValue(report, 'UNENCODED_URL'), target);
  assert.equal(variableValue(report, 'HTTP_URL'), target);
  assert.equal(variableValue(report, 'URL'), RAW_PATH_ANSI);
  assert.equal(variableValue(report, 'PATH_INFO'), RAW_PATH_ANSI);
  assert.equal(hexText(report.ecb['pathInfo']), RAW_PATH_ANSI);
  assert.equal(variableValue(report, 'UNICODE_URL'), RAW_PATH_TEXT);
  assert.equal(variableValue(report, 'UNICODE_PATH_INFO'), RAW_PATH_TEXT);
  assert.equal(variableValue(report, 'QUERY_STRING'), bytes('x=é'));
}

describe('isapi-host: raw bytes >= 0x80 in the request-target', function () {
  this.timeout(60_000);
  let running: RunningHost;
  let answers: Array<{ status: number; report: VariableReport }>;

  before(async () => {
    running = await startHost('variables');
    const raw = await rawExchange(
      running.port,
      Buffer.from(
        post(bytes('/kallithea/up/é'), true) +
          post('/kallithea/up/%C3%A9', false) +
          get(RAW_TARGET) +
          get('/kallithea/caf\xe9', true),
        'latin1',
      ),
    );
    answers = responses(raw);
  });
  after(() => running.stop());

  it('answers every request on the keep-alive connection, bodies with such bytes included', () => {
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200],
    );
    assert.equal(variableValue(answers[0]!.report, 'UNENCODED_URL'), bytes('/kallithea/up/é'));
    assert.equal(variableValue(answers[1]!.report, 'UNENCODED_URL'), '/kallithea/up/%C3%A9');
    assert.equal(variableValue(answers[0]!.report, 'UNICODE_URL'), '/kallithea/up/é');
    assert.equal(variableValue(answers[1]!.report, 'UNICODE_URL'), '/kallithea/up/é');
  });

  it('UNENCODED_URL and HTTP_URL are the target as sent; URL, PATH_INFO, UNICODE_URL its canonical path', () => {
    assertRawTargetSeen(answers[2]!.report, RAW_TARGET);
  });

  it('a raw byte in a header value reaches the extension unchanged', () => {
    assert.equal(variableValue(answers[2]!.report, 'HTTP_X_RAW'), 'caf\xe9');
  });

  it('a path that is not UTF-8 is read as the ANSI code page, as http.sys does by default', () => {
    const report = answers[3]!.report;
    assert.equal(variableValue(report, 'UNENCODED_URL'), '/kallithea/caf\xe9');
    assert.equal(variableValue(report, 'URL'), '/kallithea/caf\xe9');
    assert.equal(variableValue(report, 'UNICODE_URL'), '/kallithea/café');
  });

  it('reports no violation', () => {
    assert.deepEqual(running.host.violations(), []);
  });
});

describe('isapi-host over HTTPS: raw bytes >= 0x80 in the request-target', function () {
  this.timeout(60_000);
  let dir: string;
  let running: RunningHost;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isapi-host-raw-tls-'));
    const { key, cert } = makeTestCertificate(dir, '/CN=localhost');
    running = await startHost('variables', {}, (handler) =>
      createServer({ key: readFileSync(key), cert: readFileSync(cert) }, handler),
    );
  });
  after(async () => {
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('behind a POST on the same TLS connection', async () => {
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: running.port, rejectUnauthorized: false }, () =>
        socket.write(Buffer.from(post('/kallithea/up', false) + get(RAW_TARGET, true), 'latin1')),
      );
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
    const [first, second] = responses(raw);
    assert.equal(first?.status, 200);
    assert.equal(second?.status, 200);
    assertRawTargetSeen(second!.report, RAW_TARGET);
    assert.deepEqual(running.host.violations(), []);
  });
});
