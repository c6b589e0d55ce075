// Fuzz: thousands of random and mutated record streams (wrong version, huge lengths,
// truncation, unknown types, params over the limits), from a seeded PRNG so a failure
// replays. The parser never throws past its API and never holds more than its limits
// allow; a responder fed the same bytes closes the bad connections and keeps serving.
import assert from 'node:assert/strict';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { FCGI_KEEP_CONN, RecordType, Role } from '../../../lib/bridge/fastcgi/protocol.js';
import { RecordParser } from '../../../lib/bridge/fastcgi/record-parser.js';
import {
  encodeBeginRequest,
  encodeParams,
  encodeRecord,
  encodeStream,
} from '../../../lib/bridge/fastcgi/records.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';
import { bodyOf } from '../../support/fastcgi-echo-handler.js';
import { prng } from '../../support/prng.js';

const SECRET = 'fuzz-secret';
const LIMITS = { maxParamsBytes: 16 * 1024, maxParams: 50 };
/** The most a parser may hold: a whole params stream, one record body, one header. */
const MAX_HELD = LIMITS.maxParamsBytes + 65535 + 8;

function makeInputs(count: number, seed: number): Buffer[] {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const valid = (): Buffer =>
    Buffer.concat([
      encodeBeginRequest(1 + int(3), Role.Responder, FCGI_KEEP_CONN),
      encodeParams(1, [
        ['KALLITHEA_ISAPI_SECRET', SECRET],
        ['REQUEST_METHOD', 'POST'],
        ['X', 'x'.repeat(int(300))],
      ]),
      encodeStream(RecordType.Stdin, 1, Buffer.alloc(int(100), 0x61), { padTo8: random() < 0.5 }),
      encodeRecord(RecordType.Stdin, 1),
    ]);
  const makers: (() => Buffer)[] = [
    // random bytes, sometimes starting like a record
    () => {
      const bytes = Buffer.alloc(1 + int(2000));
      for (let i = 0; i < bytes.length; i++) bytes[i] = int(256);
      if (random() < 0.7) bytes[0] = 1;
      return bytes;
    },
    // a valid request with a few bytes flipped
    () => {
      const bytes = valid();
      for (let n = 1 + int(4); n > 0; n--) bytes[int(bytes.length)] = int(256);
      return bytes;
    },
    // wrong version somewhere
    () => {
      const bytes = valid();
      bytes[8 * int(3)] = [0, 2, 255][int(3)]!;
      return bytes;
    },
    // a header promising a huge body, then little
    () => {
      const header = Buffer.from([1, 1 + int(11), 0, 1, 0xff, 0xff, 0xff, 0]);
      return Buffer.concat([header, Buffer.alloc(int(500))]);
    },
    // truncated anywhere
    () => {
      const bytes = valid();
      return bytes.subarray(0, int(bytes.length));
    },
    // unknown types with any request id
    () => Buffer.concat([encodeRecord(12 + int(244), int(3), Buffer.alloc(int(64))), valid()]),
    // params over the byte limit, over several records
    () =>
      Buffer.concat([
        encodeBeginRequest(1, Role.Responder, 0),
        encodeParams(1, [['BIG', 'b'.repeat(LIMITS.maxParamsBytes + int(100_000))]]),
      ]),
    // params over the count limit
    () =>
      Buffer.concat([
        encodeBeginRequest(1, Role.Responder, 0),
        encodeParams(
          1,
          Array.from({ length: LIMITS.maxParams + 1 + int(100) }, (_, i) => [`P${i}`, ''] as const),
        ),
      ]),
    // name-value lengths that overrun their block
    () => {
      const block = Buffer.from([0x80 | int(128), int(256), int(256), int(256), 0x80, 0, 0, 1, 0x41]);
      return Buffer.concat([
        encodeBeginRequest(1, Role.Responder, 0),
        encodeRecord(RecordType.Params, 1, block),
        encodeRecord(RecordType.Params, 1),
      ]);
    },
  ];
  return Array.from({ length: count }, () => makers[int(makers.length)]!());
}

describe('FastCGI parser fuzz', function () {
  this.timeout(120_000);
  const inputs = makeInputs(4000, 20240611);

  it('never throws, never holds more than its limits, stays failed after an error', () => {
    const random = prng(7);
    let errors = 0;
    for (const input of inputs) {
      const parser = new RecordParser('web server', LIMITS);
      let failed = false;
      for (let at = 0; at < input.length && !failed;) {
        const size = 1 + Math.floor(random() * 3000);
        parser.input(input.subarray(at, at + size));
        at += size;
        for (;;) {
          const result = parser.parse();
          assert.ok(parser.bufferedBytes <= MAX_HELD, `held ${parser.bufferedBytes}`);
          if (result.status === 'again') break;
          if (result.status === 'error') {
            assert.match(result.error.code, /^ERR_FASTCGI_/);
            assert.equal(parser.parse().status, 'error');
            assert.equal(parser.bufferedBytes, 0);
            failed = true;
            errors++;
            break;
          }
        }
      }
    }
    // The mix must reach the error paths, or the fuzz proves little.
    assert.ok(errors > inputs.length / 4, `only ${errors} errors`);
  });

  describe('against a running responder', () => {
    let server: FastCgiServer;
    let address: string;
    const logged: string[] = [];

    before(async () => {
      server = new FastCgiServer({
        secret: SECRET,
        limits: LIMITS,
        log: (line) => logged.push(line),
        handler: async () => ({ status: 200, headers: [['Content-Type', 'text/plain']], body: bodyOf('ok') }),
      });
      address = await server.listen('tcp:127.0.0.1:0');
    });
    after(() => server.close(1000));

    it('closes each connection whose bytes the parser refuses, and keeps serving a good one', async () => {
      const keeper = await FastCgiTestClient.connect(address);
      let closedBad = 0;
      for (const [index, input] of inputs.slice(0, 400).entries()) {
        const probe = new RecordParser('web server', LIMITS);
        probe.input(input);
        let refused = false;
        for (let r = probe.parse(); r.status !== 'again'; r = probe.parse()) {
          if (r.status === 'error') {
            refused = true;
            break;
          }
        }
        const client = await FastCgiTestClient.connect(address);
        client.send(input);
        if (refused) {
          await client.closed;
          closedBad++;
        } else client.close();
        if (index % 50 === 0) {
          const response = await keeper.request({ id: 1, params: { REQUEST_METHOD: 'GET' } }, SECRET);
          assert.equal(parseCgiResponse(response.stdout).body.toString(), 'ok');
        }
      }
      assert.ok(closedBad > 50, `only ${closedBad} refused inputs`);
      assert.ok(logged.some((line) => line.includes('closing connection')));
      keeper.close();
    });
  });
});
