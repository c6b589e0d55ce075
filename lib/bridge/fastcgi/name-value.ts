// FastCGI name-value pairs (the body of PARAMS, GET_VALUES and GET_VALUES_RESULT): each
// length is one byte when under 128, else four bytes with the high bit set. Names and
// values are latin1, so every byte survives. The encoder measures first and writes into
// one exact buffer (records.ts frames it); the decoder is used by record-parser.ts.
import { FastCgiMalformedParamsError, FastCgiTooManyParamsError } from '../errors.js';

export type NameValuePair = readonly [name: string, value: string];

/** The largest length a four-byte length field can carry. */
const MAX_PAIR_LENGTH = 0x7fffffff;

function lengthSize(length: number): number {
  return length < 128 ? 1 : 4;
}

/** The encoded size of the pairs, in bytes. */
export function measurePairs(pairs: Iterable<NameValuePair>): number {
  let size = 0;
  for (const [name, value] of pairs) {
    const nameLength = Buffer.byteLength(name, 'latin1');
    const valueLength = Buffer.byteLength(value, 'latin1');
    size += lengthSize(nameLength) + lengthSize(valueLength) + nameLength + valueLength;
  }
  return size;
}

function writeLength(target: Buffer, at: number, length: number): number {
  if (length < 128) {
    target[at] = length;
    return at + 1;
  }
  target.writeUInt32BE((length | 0x80000000) >>> 0, at);
  return at + 4;
}

/** Writes the pairs at `at`; `target` must have measurePairs(pairs) bytes there. Returns the end. */
export function writePairs(target: Buffer, at: number, pairs: Iterable<NameValuePair>): number {
  for (const [name, value] of pairs) {
    const nameLength = Buffer.byteLength(name, 'latin1');
    const valueLength = Buffer.byteLength(value, 'latin1');
    at = writeLength(target, at, nameLength);
    at = writeLength(target, at, valueLength);
    at += target.write(name, at, nameLength, 'latin1');
    at += target.write(value, at, valueLength, 'latin1');
  }
  return at;
}

export function encodePairs(pairs: Iterable<NameValuePair>): Buffer {
  const list = [...pairs];
  const block = Buffer.allocUnsafe(measurePairs(list));
  writePairs(block, 0, list);
  return block;
}

/**
 * Walks a whole block of pairs, calling `each` with every name and value. Throws
 * FastCgiMalformedParamsError when a length runs past the block, FastCgiTooManyParamsError
 * past `maxPairs`. Never allocates more than the block: each length is checked against the
 * bytes left before anything is read. The block is read as latin1 text once, and names and
 * values are slices of it: one conversion per block instead of two per pair.
 */
function walkPairs(
  block: Buffer,
  peer: string,
  maxPairs: number,
  each: (name: string, value: string) => void,
): void {
  const text = block.toString('latin1');
  let at = 0;
  let pairs = 0;
  const readLength = (what: string): number => {
    const first = block[at];
    if (first === undefined) throw new FastCgiMalformedParamsError(peer, `${what} length missing`);
    if (first < 128) {
      at += 1;
      return first;
    }
    if (at + 4 > block.length) throw new FastCgiMalformedParamsError(peer, `${what} length truncated`);
    const length = block.readUInt32BE(at) & MAX_PAIR_LENGTH;
    at += 4;
    return length;
  };
  while (at < block.length) {
    if (pairs === maxPairs) throw new FastCgiTooManyParamsError(peer, maxPairs);
    const nameLength = readLength('name');
    const valueLength = readLength('value');
    if (nameLength + valueLength > block.length - at) {
      throw new FastCgiMalformedParamsError(
        peer,
        `a pair of ${nameLength}+${valueLength} bytes overruns the ${block.length - at} bytes left`,
      );
    }
    const name = text.slice(at, at + nameLength);
    at += nameLength;
    const value = text.slice(at, at + valueLength);
    at += valueLength;
    pairs += 1;
    each(name, value);
  }
}

/** Decodes a whole block of pairs into a list (the errors of walkPairs). */
export function decodePairs(block: Buffer, peer: string, maxPairs: number): NameValuePair[] {
  const pairs: NameValuePair[] = [];
  walkPairs(block, peer, maxPairs, (name, value) => pairs.push([name, value]));
  return pairs;
}

/** Decodes a whole block of pairs straight into a map; a repeated name keeps its last value. */
export function decodePairMap(block: Buffer, peer: string, maxPairs: number): Map<string, string> {
  const map = new Map<string, string>();
  walkPairs(block, peer, maxPairs, (name, value) => map.set(name, value));
  return map;
}
