// cbTotalBytes as IIS reports it: the Content-Length; 0xFFFFFFFF for a chunked body and
// for a Content-Length of 4 GiB or more; cbAvailable is the pre-read part.
import assert from 'node:assert/strict';
import {
  fetchBuffer,
  rawExchange,
  startHost,
  type RunningHost,
  type VariableReport,
} from './support/harness.js';

const names = 'CONTENT_LENGTH';

function report(raw: Buffer): VariableReport {
  const text = raw.toString('latin1');
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as VariableReport;
}

describe('isapi-host cbTotalBytes and cbAvailable', () => {
  let running: RunningHost;
  before(async () => {
    running = await startHost('variables');
  });
  after(() => running.stop());

  it('a Content-Length body: cbTotalBytes is the length', async () => {
    const response = await fetchBuffer(running.url('/kallithea/b'), {
      method: 'POST',
      body: 'x'.repeat(1000),
      headers: { 'X-Var-Names': names },
    });
    const r = JSON.parse(response.body.toString()) as VariableReport;
    assert.equal(r.ecb['cbTotalBytes'], 1000);
    assert.equal(r.ecb['cbAvailable'], 1000);
  });

  it('a chunked body: cbTotalBytes is 0xFFFFFFFF', async () => {
    const raw = await rawExchange(
      running.port,
      `POST /kallithea/b HTTP/1.1\r\nHost: t\r\nX-Var-Names: ${names}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      (got) => got.toString('latin1').endsWith('}}'),
    );
    const r = report(raw);
    assert.equal(r.ecb['cbTotalBytes'], 0xffffffff);
    assert.equal(r.ecb['cbAvailable'], 5);
  });

  it('a Content-Length of 4 GiB or more: cbTotalBytes is 0xFFFFFFFF, 48 KiB pre-read', async () => {
    const raw = await rawExchange(
      running.port,
      Buffer.concat([
        Buffer.from(
          `POST /kallithea/b HTTP/1.1\r\nHost: t\r\nX-Var-Names: ${names}\r\nContent-Length: 5000000000\r\n\r\n`,
        ),
        Buffer.alloc(48 * 1024, 0x62),
      ]),
      (got) => got.toString('latin1').endsWith('}}'),
    );
    const r = report(raw);
    assert.equal(r.ecb['cbTotalBytes'], 0xffffffff);
    assert.equal(r.ecb['cbAvailable'], 48 * 1024);
    assert.equal(Buffer.from(r.vars['CONTENT_LENGTH']?.hex ?? '', 'hex').toString('latin1'), '5000000000\0');
  });
});
