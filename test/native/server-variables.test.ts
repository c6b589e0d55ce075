// Table test: the server variables of GET /kallithea/repo/f%C3%BC%2Fx?y=1 with the `*`
// map at virtual directory /kallithea, as shared/reference/isapi.md sections 8 and 9 give
// them (decoded ANSI paths in Windows-1252, raw HTTP_URL/UNENCODED_URL, UTF-16 UNICODE_*).
import assert from 'node:assert/strict';
import {
  fetchBuffer,
  startHost,
  variableValue,
  hexText,
  type RunningHost,
  type VariableReport,
} from './support/harness.js';

describe('isapi-host server variables at a virtual directory', () => {
  let running: RunningHost;
  let report: VariableReport;

  before(async () => {
    running = await startHost('variables', { siteId: 3, physicalPath: 'C:\\inetpub\\kallithea' });
    const response = await fetchBuffer(running.url('/kallithea/repo/f%C3%BC%2Fx?y=1'), {
      headers: { 'X-Custom-Thing': 'abc', 'Content-Type': 'text/x-test' },
    });
    assert.equal(response.status, 200);
    report = JSON.parse(response.body.toString('utf8')) as VariableReport;
  });
  after(() => running.stop());

  const table: Array<[string, string | ((port: number) => string)]> = [
    ['URL', '/kallithea/repo/f\u00fc/x'],
    ['SCRIPT_NAME', '/kallithea/repo/f\u00fc/x'],
    ['PATH_INFO', '/kallithea/repo/f\u00fc/x'],
    ['PATH_TRANSLATED', 'C:\\inetpub\\kallithea\\repo\\f\u00fc\\x'],
    ['QUERY_STRING', 'y=1'],
    ['HTTP_URL', '/kallithea/repo/f%C3%BC%2Fx?y=1'],
    ['UNENCODED_URL', '/kallithea/repo/f%C3%BC%2Fx?y=1'],
    ['APPL_MD_PATH', '/LM/W3SVC/3/ROOT/kallithea'],
    ['APPL_PHYSICAL_PATH', 'C:\\inetpub\\kallithea\\'],
    ['INSTANCE_ID', '3'],
    ['INSTANCE_META_PATH', '/LM/W3SVC/3'],
    ['REMOTE_ADDR', '127.0.0.1'],
    ['REMOTE_HOST', '127.0.0.1'],
    ['SERVER_NAME', '127.0.0.1'],
    ['SERVER_PORT', (port) => String(port)],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['SERVER_SOFTWARE', 'Microsoft-IIS/10.0'],
    ['SERVER_PORT_SECURE', '0'],
    ['HTTPS', 'off'],
    ['AUTH_TYPE', ''],
    ['AUTH_USER', ''],
    ['LOGON_USER', ''],
    ['REMOTE_USER', ''],
    ['UNMAPPED_REMOTE_USER', ''],
    ['CONTENT_LENGTH', '0'],
    ['CONTENT_TYPE', 'text/x-test'],
    ['REQUEST_METHOD', 'GET'],
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['UNICODE_URL', '/kallithea/repo/f\u00fc/x'],
    ['UNICODE_PATH_INFO', '/kallithea/repo/f\u00fc/x'],
    ['UNICODE_SCRIPT_NAME', '/kallithea/repo/f\u00fc/x'],
  ];

  for (const [name, expected] of table) {
    it(`${name}`, () => {
      const want = typeof expected === 'function' ? expected(running.port) : expected;
      assert.equal(variableValue(report, name), want);
    });
  }

  it('REMOTE_PORT is the client port', () => {
    assert.match(variableValue(report, 'REMOTE_PORT') ?? '', /^[1-9]\d*$/);
  });

  it('the ECB fields carry the same decoded ANSI path, method and query', () => {
    assert.equal(report.ecb['cbSize'], 192);
    assert.ok(Number(report.ecb['dwVersion']) >= 0x60000);
    assert.equal(hexText(report.ecb['method']), 'GET');
    assert.equal(hexText(report.ecb['query']), 'y=1');
    assert.equal(hexText(report.ecb['pathInfo']), '/kallithea/repo/f\u00fc/x');
    assert.equal(hexText(report.ecb['pathTranslated']), 'C:\\inetpub\\kallithea\\repo\\f\u00fc\\x');
    assert.equal(hexText(report.ecb['contentType']), 'text/x-test');
    assert.equal(report.ecb['cbTotalBytes'], 0);
  });

  it('the ANSI URL is Windows-1252 bytes (ü is 0xFC)', () => {
    assert.match(report.vars['URL']?.hex ?? '', /66fc2f78/);
  });

  it('HTTP_<NAME> and HEADER_<Name> find request headers', () => {
    assert.equal(variableValue(report, 'HTTP_HOST'), `127.0.0.1:${running.port}`);
    assert.equal(variableValue(report, 'HEADER_Host'), `127.0.0.1:${running.port}`);
  });

  it('ALL_HTTP is HTTP_NAME:value lines and ALL_RAW the headers as sent, CRLF-separated', () => {
    const allHttp = variableValue(report, 'ALL_HTTP') ?? '';
    const allRaw = variableValue(report, 'ALL_RAW') ?? '';
    assert.match(allHttp, /(^|\r\n)HTTP_X_CUSTOM_THING:abc\r\n/);
    assert.match(allHttp, /(^|\r\n)HTTP_HOST:127\.0\.0\.1:\d+\r\n/);
    assert.match(allRaw, /(^|\r\n)X-Custom-Thing: abc\r\n/);
    assert.ok(allRaw.endsWith('\r\n'));
  });
});
