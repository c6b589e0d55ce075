// Name-value pairs: one-byte lengths up to 127, four-byte lengths from 128, and pairs
// that span PARAMS records.
import assert from 'node:assert/strict';
import { decodePairs, encodePairs, measurePairs } from '../../../lib/bridge/fastcgi/name-value.js';
import { encodeParams } from '../../../lib/bridge/fastcgi/records.js';
import { parseAll } from './parse-all.js';

describe('FastCGI name-value lengths', () => {
  for (const length of [0, 1, 127, 128, 129, 65535, 65536, 300_000]) {
    it(`a name and a value of ${length} bytes`, () => {
      const name = 'N'.repeat(length === 0 ? 1 : length);
      const value = 'v'.repeat(length);
      const block = encodePairs([[name, value]]);
      const lengthBytes = (n: number): number => (n < 128 ? 1 : 4);
      assert.equal(block.length, lengthBytes(name.length) + lengthBytes(length) + name.length + length);
      assert.equal(measurePairs([[name, value]]), block.length);
      assert.deepEqual(decodePairs(block, 'test', 10), [[name, value]]);
    });
  }

  it('writes 127 in one byte and 128 in four with the high bit set', () => {
    const short = encodePairs([['x'.repeat(127), '']]);
    assert.equal(short[0], 127);
    const long = encodePairs([['x'.repeat(128), '']]);
    assert.deepEqual([...long.subarray(0, 4)], [0x80, 0, 0, 128]);
    assert.equal(long[4], 0);
  });

  it('a pair bigger than a record spans PARAMS records and comes back whole', () => {
    const value = Buffer.alloc(200_000, 'a').toString('latin1');
    const bytes = encodeParams(1, [
      ['HTTP_X_HGARG_1', value],
      ['SHORT', 'yes'],
    ]);
    const { records, error } = parseAll(bytes, 1000);
    assert.equal(error, null);
    assert.equal(records.length, 1);
    const record = records[0]!;
    assert.equal(record.kind, 'params');
    if (record.kind === 'params') {
      assert.equal(record.params.get('HTTP_X_HGARG_1'), value);
      assert.equal(record.params.get('SHORT'), 'yes');
    }
  });

  it('a length that runs past the block is an error, not a huge allocation', () => {
    const block = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01, 0x41]);
    assert.throws(() => decodePairs(block, 'web server', 10), { code: 'ERR_FASTCGI_MALFORMED_PARAMS' });
  });
});
