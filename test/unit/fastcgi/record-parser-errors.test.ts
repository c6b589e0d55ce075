// The parser's refusals: each names the peer and carries a stable code, and a failed
// parser stays failed and holds no bytes.
import assert from 'node:assert/strict';
import { RecordType } from '../../../lib/bridge/fastcgi/protocol.js';
import { encodeParams, encodeRecord } from '../../../lib/bridge/fastcgi/records.js';
import { parseAll } from './parse-all.js';

describe('FastCGI parser errors', () => {
  it('a wrong version is refused at its first byte, naming the peer', () => {
    const { error, parser } = parseAll(Buffer.from([2]));
    assert.equal(error?.code, 'ERR_FASTCGI_VERSION');
    assert.equal(error?.message, 'web server sent unsupported FastCGI version 2');
    assert.equal(parser.parse().status, 'error');
    assert.equal(parser.bufferedBytes, 0);
  });

  it('a BEGIN_REQUEST whose body is not 8 bytes', () => {
    const { error } = parseAll(encodeRecord(RecordType.BeginRequest, 1, Buffer.alloc(5)));
    assert.equal(error?.code, 'ERR_FASTCGI_MALFORMED_RECORD');
  });

  it('params over the byte limit are refused from the header, before the body is buffered', () => {
    const bytes = encodeParams(1, [['X', 'y'.repeat(5000)]]);
    const { error, parser } = parseAll(bytes.subarray(0, 8 + 4096 + 8 + 10), 8, { maxParamsBytes: 4096 });
    assert.equal(error?.code, 'ERR_FASTCGI_PARAMS_TOO_LARGE');
    assert.equal(parser.bufferedBytes, 0);
  });

  it('more params than the count limit', () => {
    const pairs = Array.from({ length: 11 }, (_, i) => [`P${i}`, 'v'] as const);
    assert.equal(
      parseAll(encodeParams(1, pairs), 1000, { maxParams: 10 }).error?.code,
      'ERR_FASTCGI_TOO_MANY_PARAMS',
    );
    assert.equal(parseAll(encodeParams(1, pairs.slice(0, 10)), 1000, { maxParams: 10 }).error, null);
  });

  it('params of two requests interleaved', () => {
    const bytes = Buffer.concat([
      encodeRecord(RecordType.Params, 1, Buffer.from([1, 1, 65, 66])),
      encodeRecord(RecordType.Params, 2, Buffer.from([1, 1, 65, 66])),
    ]);
    assert.equal(parseAll(bytes).error?.code, 'ERR_FASTCGI_UNEXPECTED_RECORD');
  });

  it('a default limit of 1 MiB lets a 900 KiB header through', () => {
    const { error } = parseAll(encodeParams(1, [['HTTP_X_HGARG_1', 'a'.repeat(900 * 1024)]]), 65536);
    assert.equal(error, null);
  });
});
