// Mutational fuzzing of the bridge's FastCGI record parser (lib/bridge/fastcgi/record-parser.ts),
// run by scripts/fuzz.sh: N inputs, each a stream from a seed corpus of well-formed records
// (what IIS's DLL, nginx and a responder send) with a few random edits, from a seeded PRNG,
// so the same arguments replay a failure. test/unit/fastcgi/record-parser-fuzz.test.ts is the
// quick version inside the unit suite. On every input it checks that:
// - parse() never throws past its API: it answers ok, again or error;
// - the parser never holds more than its limits allow (bufferedBytes);
// - an error is final, its code is ERR_FASTCGI_*, and the failed parser holds nothing;
// - the records never carry more content than the bytes fed, and content handed out as a
//   view lies inside the chunk it came from;
// - the records do not depend on how the bytes arrive: whole, in random chunks, and (one
//   input in 16) one byte at a time give the same transcript.
// Usage: node dist/test/fuzz/record-parser-fuzz.js [--runs N] [--seconds S] [--seed N]
// Ends with "record-parser-fuzz: N inputs ... ok" (exit 0), or the broken invariant with the
// input's number (exit 1).
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { FCGI_KEEP_CONN, RecordType, Role } from '../../lib/bridge/fastcgi/protocol.js';
import { RecordParser, type FastCgiRecord } from '../../lib/bridge/fastcgi/record-parser.js';
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
} from '../../lib/bridge/fastcgi/records.js';
import { prng } from '../support/prng.js';

const LIMITS = { maxParamsBytes: 16 * 1024, maxParams: 50 };
/** The most a parser may hold: a whole params stream, one record body, one header. */
const MAX_HELD = LIMITS.maxParamsBytes + 65535 + 8;

/** Well-formed streams the mutations start from. */
function seedCorpus(): Buffer[] {
  const request = (id: number, body: Buffer, pad: boolean): Buffer =>
    Buffer.concat([
      encodeBeginRequest(id, Role.Responder, FCGI_KEEP_CONN),
      encodeParams(id, [
        ['REQUEST_METHOD', 'POST'],
        ['PATH_INFO', '/repo/push'],
        ['HTTP_X_HGARG_1', 'cmds=heads+%3Bknown+nodes%3D'.repeat(20)],
      ]),
      encodeStream(RecordType.Stdin, id, body, { padTo8: pad }),
      encodeRecord(RecordType.Stdin, id),
    ]);
  return [
    request(1, Buffer.alloc(100, 0x61), false),
    request(1, Buffer.alloc(3000, 0x62), true),
    Buffer.concat([request(1, Buffer.alloc(0), false), request(2, Buffer.from('second'), true)]),
    encodeGetValues(['FCGI_MAX_CONNS', 'FCGI_MAX_REQS', 'FCGI_MPXS_CONNS']),
    encodeGetValuesResult([['FCGI_MPXS_CONNS', '0']]),
    Buffer.concat([
      encodeStream(RecordType.Stdout, 1, Buffer.from('Status: 200 OK\r\nContent-Length: 2\r\n\r\nhi')),
      encodeStream(RecordType.Stderr, 1, Buffer.from('warning\n'), { padTo8: true }),
      encodeRecord(RecordType.Stdout, 1),
      encodeEndRequest(1, 0, 0),
    ]),
    Buffer.concat([encodeBeginRequest(1, Role.Responder, 0), encodeAbortRequest(1)]),
    Buffer.concat([encodeUnknownType(200), encodeRecord(RecordType.Data, 1, Buffer.from('data'))]),
  ];
}

const INTERESTING = [0, 1, 7, 8, 0x7f, 0x80, 0xfe, 0xff];

/** A seed with 1 to 4 edits: bytes changed, inserted, deleted, repeated, cut, spliced. */
function mutate(seeds: Buffer[], int: (n: number) => number): Buffer {
  let bytes = Buffer.from(seeds[int(seeds.length)]!);
  for (let edits = 1 + int(4); edits > 0; edits--) {
    const at = int(bytes.length + 1);
    switch (int(8)) {
      case 0: // flip a bit
        if (at < bytes.length) bytes[at]! ^= 1 << int(8);
        break;
      case 1: {
        // an interesting value, half the time in the first bytes after an 8-byte boundary
        const near = Math.min(8 * int(Math.ceil(bytes.length / 8)) + int(8), bytes.length - 1);
        if (bytes.length > 0)
          bytes[int(2) === 0 ? int(bytes.length) : near] = INTERESTING[int(INTERESTING.length)]!;
        break;
      }
      case 2: // random bytes inserted
        bytes = Buffer.concat([
          bytes.subarray(0, at),
          Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256))),
          bytes.subarray(at),
        ]);
        break;
      case 3: // a range deleted
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + int(64))]);
        break;
      case 4: // a range repeated
        bytes = Buffer.concat([
          bytes.subarray(0, at),
          bytes.subarray(at, at + 1 + int(200)),
          bytes.subarray(at),
        ]);
        break;
      case 5: // cut short
        bytes = bytes.subarray(0, at);
        break;
      case 6: // another seed spliced in
        bytes = Buffer.concat([bytes.subarray(0, at), seeds[int(seeds.length)]!.subarray(int(64))]);
        break;
      default: // a content length rewritten in a record header
        if (bytes.length >= 8) {
          const header = 8 * int(Math.floor(bytes.length / 8));
          if (header + 5 < bytes.length) bytes.writeUInt16BE(int(2) === 0 ? int(65536) : int(64), header + 4);
        }
    }
  }
  return bytes;
}

function describe(record: FastCgiRecord): string {
  const head = `${record.kind} ${record.type} #${record.requestId}`;
  switch (record.kind) {
    case 'begin-request':
      return `${head} role ${record.role} flags ${record.flags}`;
    case 'end-request':
      return `${head} app ${record.appStatus} protocol ${record.protocolStatus}`;
    case 'params':
      return `${head} ${JSON.stringify([...record.params])}`;
    case 'get-values':
      return `${head} ${JSON.stringify(record.names)}`;
    case 'get-values-result':
      return `${head} ${JSON.stringify([...record.values])}`;
    case 'unknown-type':
      return `${head} unknown ${record.unknownType}`;
    case 'stream':
    case 'other':
      return `${head} [${record.content.toString('latin1')}]`;
    case 'abort-request':
      return head;
  }
}

interface Outcome {
  transcript: string;
  error: boolean;
}

/** Parses `input` in chunks of the sizes `chunkSize` picks, checking as it goes. */
function parseInChunks(input: Buffer, chunkSize: () => number): Outcome {
  const parser = new RecordParser('fuzz peer', LIMITS);
  const lines: string[] = [];
  let contentBytes = 0;
  for (let at = 0; at < input.length;) {
    const chunk = input.subarray(at, at + chunkSize());
    at += chunk.length;
    parser.input(chunk);
    for (;;) {
      const result = parser.parse();
      assert.ok(parser.bufferedBytes <= MAX_HELD, `parser holds ${parser.bufferedBytes} bytes`);
      if (result.status === 'again') break;
      if (result.status === 'error') {
        assert.match(result.error.code, /^ERR_FASTCGI_/);
        assert.equal(parser.parse().status, 'error', 'an error is not final');
        assert.equal(parser.bufferedBytes, 0, 'a failed parser still holds bytes');
        lines.push(`error ${result.error.code}`);
        return { transcript: lines.join('\n'), error: true };
      }
      const record = result.record;
      if (record.kind === 'stream' || record.kind === 'other') {
        assert.ok(record.content.length <= 65535, 'content longer than a record');
        contentBytes += record.content.length;
        if (record.content.buffer === chunk.buffer && record.content.length > 0) {
          const offset = record.content.byteOffset - chunk.byteOffset;
          assert.ok(
            offset >= 0 && offset + record.content.length <= chunk.length,
            'a view outside its chunk',
          );
        }
      }
      assert.ok(contentBytes <= at, 'more content than bytes fed');
      lines.push(describe(record));
    }
  }
  lines.push(`again, at boundary ${parser.atRecordBoundary}`);
  return { transcript: lines.join('\n'), error: false };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '100000' },
      seconds: { type: 'string' },
      seed: { type: 'string', default: '20261202' },
    },
  });
  const runs = Number(values.runs);
  const deadline = values.seconds === undefined ? Infinity : Date.now() + Number(values.seconds) * 1000;
  const seed = Number(values.seed);
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const seeds = seedCorpus();
  let inputs = 0;
  let errors = 0;
  let records = 0;
  for (; inputs < runs && (inputs % 1000 !== 0 || Date.now() < deadline); inputs++) {
    // Its own ArrayBuffer (not Node's shared pool), so a content view can be told from a copy.
    const input = Buffer.from(new Uint8Array(mutate(seeds, int)).buffer);
    try {
      const whole = parseInChunks(input, () => input.length);
      const chunked = parseInChunks(input, () => 1 + int(int(2) === 0 ? 16 : 4096));
      assert.equal(chunked.transcript, whole.transcript, 'random chunks changed the records');
      if (inputs % 16 === 0) {
        const bytewise = parseInChunks(input, () => 1);
        assert.equal(bytewise.transcript, whole.transcript, 'byte-by-byte feeding changed the records');
      }
      if (whole.error) errors++;
      records += whole.transcript.split('\n').length - 1;
    } catch (error) {
      console.error(`record-parser-fuzz: input ${inputs} (--seed ${seed}) broke an invariant:`);
      console.error(`input (hex): ${input.toString('hex')}`);
      throw error;
    }
  }
  // The mix must reach both the error paths and whole records, or the run proves little.
  assert.ok(errors > inputs / 10 && records > inputs, `only ${errors} errors and ${records} records`);
  console.log(
    `record-parser-fuzz: ${inputs} inputs, ${errors} ended in a parser error, ${records} records: ok`,
  );
}

main();
