// Test helper: runs bytes through a RecordParser, in chunks of the given sizes, and
// collects the records (or the error) it gives back.
import type { BridgeError } from '../../../lib/bridge/errors.js';
import {
  RecordParser,
  type FastCgiRecord,
  type ParserLimits,
} from '../../../lib/bridge/fastcgi/record-parser.js';

export function parseAll(
  bytes: Buffer,
  chunkSize = bytes.length || 1,
  limits: ParserLimits = {},
): { records: FastCgiRecord[]; error: BridgeError | null; parser: RecordParser } {
  const parser = new RecordParser('web server', limits);
  const records: FastCgiRecord[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) {
    parser.input(bytes.subarray(at, at + chunkSize));
    for (;;) {
      const result = parser.parse();
      if (result.status === 'again') break;
      if (result.status === 'error') return { records, error: result.error, parser };
      // Views into the chunk are copied, as a consumer that keeps them must do.
      const record = result.record;
      records.push('content' in record ? { ...record, content: Buffer.from(record.content) } : record);
    }
  }
  return { records, error: null, parser };
}
