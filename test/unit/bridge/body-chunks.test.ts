// BodyChunks takes memory back only as it lent it: whole, once. Anything else given back (a
// slice of a lent chunk, a chunk given twice, a buffer it never lent) must not come out
// again as a new chunk's memory while someone may still read it.
import assert from 'node:assert/strict';
import { BodyChunks, CHUNK_MEMORY_BYTES } from '../../../lib/bridge/body-chunks.js';

const KiB = 1024;

describe('bridge: body chunk memory', () => {
  it('copies the views of a read into one chunk, and reuses the memory of a chunk given back', () => {
    const chunks = new BodyChunks();
    const first = chunks.copy([Buffer.alloc(8 * KiB, 1), Buffer.alloc(8 * KiB, 2)], 16 * KiB);
    assert.equal(first.length, 16 * KiB);
    assert.equal(first[0], 1);
    assert.equal(first[16 * KiB - 1], 2);
    chunks.giveBack(first);
    const second = chunks.copy([Buffer.alloc(20 * KiB, 3)], 20 * KiB);
    assert.equal(second.buffer, first.buffer);
    assert.equal(chunks.reused, 1);
    assert.equal(second.length, 20 * KiB);
    assert.equal(second[20 * KiB - 1], 3);
  });

  it('lends nothing to a small chunk: Node pools those itself', () => {
    const chunks = new BodyChunks();
    const small = chunks.copy([Buffer.alloc(100, 7)], 100);
    chunks.giveBack(small);
    const large = chunks.copy([Buffer.alloc(8 * KiB, 8)], 8 * KiB);
    assert.notEqual(large.buffer, small.buffer);
    assert.equal(large.buffer.byteLength, CHUNK_MEMORY_BYTES);
    assert.equal(chunks.reused, 0);
  });

  it('ignores a slice, a second give and a buffer it never lent', () => {
    const chunks = new BodyChunks();
    const lent = chunks.copy([Buffer.alloc(16 * KiB, 1)], 16 * KiB);
    chunks.giveBack(lent.subarray(0, 8 * KiB)); // a middleware's slice: the rest may still be sent
    chunks.giveBack(lent.subarray(8 * KiB));
    chunks.giveBack(Buffer.allocUnsafeSlow(CHUNK_MEMORY_BYTES));
    assert.notEqual(chunks.copy([Buffer.alloc(16 * KiB)], 16 * KiB).buffer, lent.buffer);
    chunks.giveBack(lent);
    chunks.giveBack(lent);
    const a = chunks.copy([Buffer.alloc(16 * KiB)], 16 * KiB);
    const b = chunks.copy([Buffer.alloc(16 * KiB)], 16 * KiB);
    assert.equal(a.buffer, lent.buffer);
    assert.notEqual(b.buffer, lent.buffer, 'given twice, lent twice at once');
  });

  it('keeps at most `keep` buffers given back', () => {
    const chunks = new BodyChunks(2);
    const lent = [1, 2, 3].map(() => chunks.copy([Buffer.alloc(8 * KiB)], 8 * KiB));
    for (const chunk of lent) chunks.giveBack(chunk);
    const again = [1, 2, 3].map(() => chunks.copy([Buffer.alloc(8 * KiB)], 8 * KiB));
    assert.equal(chunks.reused, 2);
    assert.equal(new Set(again.map((chunk) => chunk.buffer)).size, 3);
  });
});
