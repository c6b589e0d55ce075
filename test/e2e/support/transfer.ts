// Streaming clients for e2e tests: bodies generated on the fly and hashed as they arrive,
// never held whole in memory.
import { createHash } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { patternBytes } from '../../support/upstream.js';

export interface StreamedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: number;
  sha256: string;
  /** The response ended cleanly (false: the connection was cut before the end). */
  complete: boolean;
  text: string;
}

/** Sends `bodyBytes` pattern bytes (chunked unless `contentLength`), hashes the answer. */
export function streamRequest(
  url: string,
  init: {
    method?: string;
    bodyBytes?: number;
    contentLength?: boolean;
    headers?: Record<string, string>;
    /** Called once, when the first bytes of the response body arrive. */
    onFirstBytes?: () => void;
  } = {},
): Promise<StreamedResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.bodyBytes !== undefined && init.contentLength !== false)
      headers['Content-Length'] = String(init.bodyBytes);
    const req = request(url, { method: init.method ?? 'GET', headers, agent: false }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      let text = '';
      let settled = false;
      const finish = (complete: boolean): void => {
        if (settled) return;
        settled = true;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes,
          sha256: hash.digest('hex'),
          complete,
          text,
        });
      };
      res.on('data', (c: Buffer) => {
        if (bytes === 0) init.onFirstBytes?.();
        bytes += c.length;
        hash.update(c);
        if (text.length < 4096) text += c.toString('latin1');
      });
      res.on('end', () => finish(true));
      res.on('aborted', () => finish(false));
      res.on('error', () => finish(false));
      res.on('close', () => finish(res.complete));
    });
    req.on('error', reject);
    if (init.bodyBytes === undefined) {
      req.end();
      return;
    }
    const blocks = patternBytes(init.bodyBytes);
    const pump = (): void => {
      for (;;) {
        const { value, done } = blocks.next();
        if (done === true) {
          req.end();
          return;
        }
        if (!req.write(value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}
