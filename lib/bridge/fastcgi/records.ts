// Encoding FastCGI records: each function measures first and writes into one exact buffer.
// The responder (connection.ts, response-writer.ts) writes these to the web server's
// socket; the test client writes them to the responder. Decoding is record-parser.ts.
import { FastCgiRecordTooLargeError } from '../errors.js';
import { encodePairs, measurePairs, writePairs, type NameValuePair } from './name-value.js';
import { FCGI_HEADER_LEN, FCGI_MAX_CONTENT, FCGI_VERSION_1, RecordType } from './protocol.js';

export interface EncodeOptions {
  /** Pad the record body to a multiple of 8 bytes (nginx does; the spec recommends it). */
  padTo8?: boolean;
}

const ZEROES = Buffer.alloc(8);

function paddingFor(contentLength: number, padTo8: boolean): number {
  return padTo8 ? (8 - (contentLength % 8)) % 8 : 0;
}

/** Writes one record header at `at`. The wire struct is all single bytes (hi/lo pairs). */
function writeHeader(
  target: Buffer,
  at: number,
  type: number,
  requestId: number,
  contentLength: number,
  paddingLength: number,
): number {
  target[at] = FCGI_VERSION_1;
  target[at + 1] = type;
  target[at + 2] = (requestId >> 8) & 0xff;
  target[at + 3] = requestId & 0xff;
  target[at + 4] = (contentLength >> 8) & 0xff;
  target[at + 5] = contentLength & 0xff;
  target[at + 6] = paddingLength;
  target[at + 7] = 0;
  return at + FCGI_HEADER_LEN;
}

/** One record of any type around `content` (at most 65535 bytes). */
export function encodeRecord(
  type: number,
  requestId: number,
  content: Uint8Array = ZEROES.subarray(0, 0),
  options: EncodeOptions = {},
): Buffer {
  if (content.length > FCGI_MAX_CONTENT) throw new FastCgiRecordTooLargeError(content.length);
  const padding = paddingFor(content.length, options.padTo8 ?? false);
  const record = Buffer.alloc(FCGI_HEADER_LEN + content.length + padding);
  writeHeader(record, 0, type, requestId, content.length, padding);
  record.set(content, FCGI_HEADER_LEN);
  return record;
}

export function encodeBeginRequest(requestId: number, role: number, flags: number): Buffer {
  const body = Buffer.alloc(8);
  body[0] = (role >> 8) & 0xff;
  body[1] = role & 0xff;
  body[2] = flags;
  return encodeRecord(RecordType.BeginRequest, requestId, body);
}

export function encodeAbortRequest(requestId: number): Buffer {
  return encodeRecord(RecordType.AbortRequest, requestId);
}

/** The size of an END_REQUEST record. */
export const END_REQUEST_LEN = FCGI_HEADER_LEN + 8;

export function encodeEndRequest(requestId: number, appStatus: number, protocolStatus: number): Buffer {
  const record = Buffer.allocUnsafe(END_REQUEST_LEN);
  writeEndRequest(record, 0, requestId, appStatus, protocolStatus);
  return record;
}

export function encodeUnknownType(unknownType: number): Buffer {
  const body = Buffer.alloc(8);
  body[0] = unknownType;
  return encodeRecord(RecordType.UnknownType, 0, body);
}

export function encodeGetValues(names: Iterable<string>): Buffer {
  return encodeRecord(RecordType.GetValues, 0, encodePairs([...names].map((name) => [name, ''] as const)));
}

export function encodeGetValuesResult(values: Iterable<NameValuePair>): Buffer {
  return encodeRecord(RecordType.GetValuesResult, 0, encodePairs(values));
}

/**
 * Cuts `length` bytes of a stream into record-sized pieces and calls `each(offset, size)`
 * for every piece: an empty stream is one empty piece (the end-of-stream record).
 */
function forEachPiece(length: number, each: (offset: number, size: number) => void): void {
  if (length === 0) each(0, 0);
  for (let offset = 0; offset < length; offset += FCGI_MAX_CONTENT) {
    each(offset, Math.min(FCGI_MAX_CONTENT, length - offset));
  }
}

/** The bytes encodeStream() gives for `length` bytes of stream data. */
export function measureStream(length: number, padTo8: boolean): number {
  let size = 0;
  forEachPiece(length, (_offset, piece) => {
    size += FCGI_HEADER_LEN + piece + paddingFor(piece, padTo8);
  });
  return size;
}

/**
 * Writes `data` as stream records at `at` in `target` (which has measureStream() bytes
 * there); returns the end. Padding bytes are zeroed.
 */
export function writeStream(
  target: Buffer,
  at: number,
  type: number,
  requestId: number,
  data: Uint8Array,
  padTo8: boolean,
): number {
  forEachPiece(data.length, (offset, piece) => {
    const padding = paddingFor(piece, padTo8);
    at = writeHeader(target, at, type, requestId, piece, padding);
    target.set(piece === data.length ? data : data.subarray(offset, offset + piece), at);
    at += piece;
    if (padding > 0) target.fill(0, at, at + padding);
    at += padding;
  });
  return at;
}

/**
 * Writes one stream record at `at` whose content is `parts` in order (`length` bytes in all, at
 * most 65535; a string is latin1 text, one byte per character), padded to 8 bytes when asked:
 * a small response's head and body in one record, and no intermediate buffer for the head.
 * `target` needs FCGI_HEADER_LEN + length + padding bytes there; returns the end.
 */
export function writeStreamRecord(
  target: Buffer,
  at: number,
  type: number,
  requestId: number,
  parts: ReadonlyArray<Uint8Array | string>,
  length: number,
  padTo8: boolean,
): number {
  if (length > FCGI_MAX_CONTENT) throw new FastCgiRecordTooLargeError(length);
  const padding = paddingFor(length, padTo8);
  at = writeHeader(target, at, type, requestId, length, padding);
  for (const part of parts) {
    if (typeof part === 'string') {
      at += target.write(part, at, 'latin1');
    } else {
      target.set(part, at);
      at += part.length;
    }
  }
  if (padding > 0) target.fill(0, at, at + padding);
  return at + padding;
}

/** The bytes writeStreamRecord() writes for `length` bytes of content. */
export function measureStreamRecord(length: number, padTo8: boolean): number {
  return FCGI_HEADER_LEN + length + paddingFor(length, padTo8);
}

/**
 * A stream (STDIN, STDOUT, STDERR, DATA) chunk as records of at most 65535 bytes each, in
 * one buffer. An empty `data` gives the empty record that ends the stream.
 */
export function encodeStream(
  type: number,
  requestId: number,
  data: Uint8Array,
  options: EncodeOptions = {},
): Buffer {
  const padTo8 = options.padTo8 ?? false;
  const out = Buffer.allocUnsafe(measureStream(data.length, padTo8));
  writeStream(out, 0, type, requestId, data, padTo8);
  return out;
}

/** Writes an END_REQUEST record at `at`; returns the end. */
export function writeEndRequest(
  target: Buffer,
  at: number,
  requestId: number,
  appStatus: number,
  protocolStatus: number,
): number {
  at = writeHeader(target, at, RecordType.EndRequest, requestId, 8, 0);
  target.writeUInt32BE(appStatus >>> 0, at);
  target[at + 4] = protocolStatus;
  target.fill(0, at + 5, at + 8);
  return at + 8;
}

/**
 * The same records as encodeStream, as a list of buffers that reference `data` instead of
 * copying it (header, piece, padding, ...): for socket.cork() + write() = one writev.
 */
export function encodeStreamParts(
  type: number,
  requestId: number,
  data: Uint8Array,
  options: EncodeOptions = {},
): Uint8Array[] {
  const padTo8 = options.padTo8 ?? false;
  const parts: Uint8Array[] = [];
  forEachPiece(data.length, (offset, piece) => {
    const padding = paddingFor(piece, padTo8);
    parts.push(writeHeaderBuffer(type, requestId, piece, padding));
    if (piece > 0) parts.push(data.subarray(offset, offset + piece));
    if (padding > 0) parts.push(ZEROES.subarray(0, padding));
  });
  return parts;
}

function writeHeaderBuffer(type: number, requestId: number, contentLength: number, padding: number): Buffer {
  const header = Buffer.allocUnsafe(FCGI_HEADER_LEN);
  writeHeader(header, 0, type, requestId, contentLength, padding);
  return header;
}

/**
 * A whole PARAMS stream: the pairs cut into records of at most 65535 bytes (a pair may
 * span records, as the spec allows) and the empty record that ends it, in one buffer.
 */
export function encodeParams(requestId: number, pairs: Iterable<NameValuePair>): Buffer {
  const list = [...pairs];
  const block = Buffer.allocUnsafe(measurePairs(list));
  writePairs(block, 0, list);
  const records = [encodeStream(RecordType.Params, requestId, block)];
  if (block.length > 0) records.push(encodeRecord(RecordType.Params, requestId));
  return Buffer.concat(records);
}
