// Every FastCGI record type encodes and decodes back to what went in.
import assert from 'node:assert/strict';
import { FCGI_KEEP_CONN, ProtocolStatus, RecordType, Role } from '../../../lib/bridge/fastcgi/protocol.js';
import {
  encodeAbortRequest,
  encodeBeginRequest,
  encodeEndRequest,
  encodeGetValues,
  encodeGetValuesResult,
  encodeParams,
  encodeRecord,
  encodeStream,
  encodeUnknownType,
} from '../../../lib/bridge/fastcgi/records.js';
import { parseAll } from './parse-all.js';

describe('FastCGI records round trip', () => {
  it('BEGIN_REQUEST keeps role and flags', () => {
    const { records } = parseAll(encodeBeginRequest(513, Role.Filter, FCGI_KEEP_CONN));
    assert.deepEqual(records, [
      { kind: 'begin-request', type: 1, requestId: 513, role: Role.Filter, flags: FCGI_KEEP_CONN },
    ]);
  });

  it('ABORT_REQUEST', () => {
    assert.deepEqual(parseAll(encodeAbortRequest(7)).records, [
      { kind: 'abort-request', type: 2, requestId: 7 },
    ]);
  });

  it('END_REQUEST keeps a 32-bit app status and the protocol status', () => {
    const { records } = parseAll(encodeEndRequest(65535, 0xfedcba98, ProtocolStatus.UnknownRole));
    assert.deepEqual(records, [
      { kind: 'end-request', type: 3, requestId: 65535, appStatus: 0xfedcba98, protocolStatus: 3 },
    ]);
  });

  it('PARAMS arrive as one map at the empty record', () => {
    const pairs: [string, string][] = [
      ['REQUEST_METHOD', 'GET'],
      ['EMPTY', ''],
      ['LATIN1', 'caf\u00e9 \u00ff'],
    ];
    const { records } = parseAll(encodeParams(3, pairs));
    assert.deepEqual(records, [{ kind: 'params', type: 4, requestId: 3, params: new Map(pairs) }]);
  });

  for (const [name, type] of [
    ['STDIN', RecordType.Stdin],
    ['STDOUT', RecordType.Stdout],
    ['STDERR', RecordType.Stderr],
    ['DATA', RecordType.Data],
  ] as const) {
    it(`${name} content, and the empty record that ends it`, () => {
      const data = Buffer.from('some bytes \x00\xff', 'latin1');
      const { records } = parseAll(
        Buffer.concat([encodeStream(type, 9, data), encodeStream(type, 9, Buffer.alloc(0))]),
      );
      assert.deepEqual(records, [
        { kind: 'stream', type, requestId: 9, content: data },
        { kind: 'stream', type, requestId: 9, content: Buffer.alloc(0) },
      ]);
    });
  }

  it('GET_VALUES names and GET_VALUES_RESULT values', () => {
    const names = ['FCGI_MAX_CONNS', 'FCGI_MPXS_CONNS'];
    assert.deepEqual(parseAll(encodeGetValues(names)).records, [
      { kind: 'get-values', type: 9, requestId: 0, names },
    ]);
    const values = new Map([['FCGI_MAX_CONNS', '64']]);
    assert.deepEqual(parseAll(encodeGetValuesResult(values)).records, [
      { kind: 'get-values-result', type: 10, requestId: 0, values },
    ]);
  });

  it('UNKNOWN_TYPE names the type', () => {
    assert.deepEqual(parseAll(encodeUnknownType(200)).records, [
      { kind: 'unknown-type', type: 11, requestId: 0, unknownType: 200 },
    ]);
  });

  it('a type FastCGI 1.0 does not define comes out as other', () => {
    const { records, error } = parseAll(encodeRecord(42, 0, Buffer.from('x')));
    assert.equal(error, null);
    assert.deepEqual(records, [{ kind: 'other', type: 42, requestId: 0, content: Buffer.from('x') }]);
  });

  it('a stream chunk over 65535 bytes is cut into full records', () => {
    const data = Buffer.alloc(65535 * 2 + 10, 7);
    const { records } = parseAll(encodeStream(RecordType.Stdout, 1, data));
    assert.deepEqual(
      records.map((r) => ('content' in r ? r.content.length : -1)),
      [65535, 65535, 10],
    );
    assert.deepEqual(Buffer.concat(records.map((r) => ('content' in r ? r.content : Buffer.alloc(0)))), data);
  });
});
