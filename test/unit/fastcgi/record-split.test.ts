// The parser resumes anywhere: a request fed one byte at a time, or cut in two at every
// byte position, gives the same records as the whole.
import assert from 'node:assert/strict';
import { FCGI_KEEP_CONN, RecordType, Role } from '../../../lib/bridge/fastcgi/protocol.js';
import { RecordParser, type FastCgiRecord } from '../../../lib/bridge/fastcgi/record-parser.js';
import {
  encodeBeginRequest,
  encodeParams,
  encodeRecord,
  encodeStream,
} from '../../../lib/bridge/fastcgi/records.js';
import { parseAll } from './parse-all.js';

function sampleRequest(): Buffer {
  const padded = encodeStream(RecordType.Stdin, 1, Buffer.from('body'), { padTo8: true });
  return Buffer.concat([
    encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN),
    encodeParams(1, [
      ['REQUEST_METHOD', 'POST'],
      ['LONG', 'L'.repeat(300)],
    ]),
    padded,
    encodeStream(RecordType.Stdin, 1, Buffer.from('more')),
    encodeRecord(RecordType.Stdin, 1),
    encodeRecord(RecordType.AbortRequest, 1),
  ]);
}

function parseInTwo(bytes: Buffer, cut: number): FastCgiRecord[] {
  const parser = new RecordParser('web server');
  const records: FastCgiRecord[] = [];
  for (const part of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
    parser.input(part);
    for (let r = parser.parse(); r.status !== 'again'; r = parser.parse()) {
      if (r.status === 'error') throw r.error;
      records.push(
        'content' in r.record ? { ...r.record, content: Buffer.from(r.record.content) } : r.record,
      );
    }
  }
  return records;
}

describe('FastCGI parser resumes at any byte', () => {
  const bytes = sampleRequest();
  const whole = parseAll(bytes).records;

  it('the sample decodes to the expected records', () => {
    assert.deepEqual(
      whole.map((r) => r.kind),
      ['begin-request', 'params', 'stream', 'stream', 'stream', 'abort-request'],
    );
  });

  it('one byte at a time', () => {
    const { records, error } = parseAll(bytes, 1);
    assert.equal(error, null);
    assert.deepEqual(records, whole);
  });

  it('cut in two at every position', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.deepEqual(parseInTwo(bytes, cut), whole, `cut at ${cut}`);
    }
  });

  it('holds nothing between records', () => {
    const { parser } = parseAll(bytes, 3);
    assert.equal(parser.bufferedBytes, 0);
    assert.equal(parser.atRecordBoundary, true);
  });
});
