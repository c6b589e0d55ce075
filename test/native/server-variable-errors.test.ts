// GetServerVariable's error contract (isapi.md section 5): ERROR_INVALID_INDEX for
// unknown names, ERROR_INSUFFICIENT_BUFFER with the size needed including the NUL (two
// bytes for UNICODE_), ERROR_NO_DATA for a known variable with nothing to give.
import assert from 'node:assert/strict';
import { fetchBuffer, startHost, type RunningHost, type VariableReport } from './support/harness.js';

const ERROR_INSUFFICIENT_BUFFER = 122;
const ERROR_NO_DATA = 232;
const ERROR_INVALID_INDEX = 1413;

describe('isapi-host GetServerVariable errors', () => {
  let running: RunningHost;
  let report: VariableReport;

  before(async () => {
    running = await startHost('variables');
    const names = [
      'NO_SUCH_VARIABLE',
      'HTTP_NOT_SENT',
      'HEADER_Not-Sent',
      'UNICODE_HTTP_HOST',
      'HTTPS_KEYSIZE',
      'URL',
      'UNICODE_URL',
      'HTTP_X_EMPTY',
      'unicode_url',
      'url',
    ];
    const response = await fetchBuffer(running.url('/kallithea/a'), {
      headers: { 'X-Var-Names': names.join(','), 'X-Empty': '' },
    });
    report = JSON.parse(response.body.toString('utf8')) as VariableReport;
  });
  after(() => running.stop());

  it('an unknown name is ERROR_INVALID_INDEX', () => {
    assert.deepEqual(
      [report.vars['NO_SUCH_VARIABLE']?.ok, report.vars['NO_SUCH_VARIABLE']?.error],
      [false, ERROR_INVALID_INDEX],
    );
  });

  it('a header that was not sent is ERROR_INVALID_INDEX, by HTTP_ and by HEADER_ name', () => {
    assert.equal(report.vars['HTTP_NOT_SENT']?.error, ERROR_INVALID_INDEX);
    assert.equal(report.vars['HEADER_Not-Sent']?.error, ERROR_INVALID_INDEX);
  });

  it('headers have no UNICODE_ form', () => {
    assert.equal(report.vars['UNICODE_HTTP_HOST']?.error, ERROR_INVALID_INDEX);
  });

  it('HTTPS_KEYSIZE on a plain connection is ERROR_NO_DATA', () => {
    assert.equal(report.vars['HTTPS_KEYSIZE']?.error, ERROR_NO_DATA);
  });

  it('a too-small buffer is ERROR_INSUFFICIENT_BUFFER with the size including the NUL', () => {
    const url = report.vars['URL'];
    assert.equal(url?.probeOk, false);
    assert.equal(url?.probeError, ERROR_INSUFFICIENT_BUFFER);
    assert.equal(url?.probeSize, '/kallithea/a'.length + 1);
    assert.equal(url?.size, '/kallithea/a'.length + 1);
  });

  it('UNICODE_ sizes are bytes of UTF-16LE with a two-byte NUL', () => {
    const wide = report.vars['UNICODE_URL'];
    assert.equal(wide?.probeSize, ('/kallithea/a'.length + 1) * 2);
    assert.equal(wide?.hex, Buffer.from('/kallithea/a\0', 'utf16le').toString('hex'));
  });

  it('names are case-insensitive', () => {
    assert.equal(report.vars['url']?.hex, report.vars['URL']?.hex);
    assert.equal(report.vars['unicode_url']?.hex, report.vars['UNICODE_URL']?.hex);
  });

  it('an empty header is found with an empty value', () => {
    assert.deepEqual([report.vars['HTTP_X_EMPTY']?.ok, report.vars['HTTP_X_EMPTY']?.size], [true, 1]);
  });
});
