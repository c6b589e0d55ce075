// Padding: STDOUT is encoded padded to 8 bytes (as nginx pads); any padding decodes.
import assert from 'node:assert/strict';
import { FCGI_HEADER_LEN, RecordType } from '../../../lib/bridge/fastcgi/protocol.js';
import { encodeStream, encodeStreamParts } from '../../../lib/bridge/fastcgi/records.js';
import { parseAll } from './parse-all.js';

describe('FastCGI record padding', () => {
  for (let length = 0; length <= 17; length++) {
    it(`pads a body of ${length} bytes to a multiple of 8`, () => {
      const record = encodeStream(RecordType.Stdout, 1, Buffer.alloc(length, 1), { padTo8: true });
      assert.equal(record.length % 8, 0);
      assert.equal(record[6], record.length - FCGI_HEADER_LEN - length);
      const parts = Buffer.concat(
        encodeStreamParts(RecordType.Stdout, 1, Buffer.alloc(length, 1), { padTo8: true }),
      );
      assert.deepEqual(parts, record);
    });
  }

  it('decodes records with any padding length, 0 to 255', () => {
    const records: Buffer[] = [];
    for (let padding = 0; padding <= 255; padding++) {
      const record = Buffer.concat([
        encodeStream(RecordType.Stdin, 1, Buffer.from([padding])),
        Buffer.alloc(padding, 0xee),
      ]);
      record[6] = padding;
      records.push(record);
    }
    const { records: decoded, error } = parseAll(Buffer.concat(records), 97);
    assert.equal(error, null);
    assert.deepEqual(
      decoded.map((r) => ('content' in r ? r.content[0] : -1)),
      Array.from({ length: 256 }, (_, i) => i),
    );
  });
});
