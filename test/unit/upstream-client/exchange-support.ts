// Runs one request through the upstream client with a plain handler that collects the
// response, or the error that ended it; optionally pausing the body as a slow consumer.
import type { Readable } from 'node:stream';
import type { ExchangeHandler } from '../../../lib/bridge/upstream-client/connection.js';
import { UpstreamPool, type PoolOptions } from '../../../lib/bridge/upstream-client/pool.js';
import type { ScriptedUpstream } from '../../support/scripted-upstream.js';

export interface Outcome {
  status?: number;
  statusText?: string;
  headers?: string[];
  body: Buffer;
  error?: Error & { code?: string };
}

export const OPTIONS: PoolOptions = {
  connections: 1,
  connectTimeoutMs: 2000,
  headersTimeoutMs: 2000,
  bodyTimeoutMs: 2000,
  tcpKeepAlive: true,
  maxHeaderBytes: 16 * 1024,
};

export function pool(origin: string, options: Partial<PoolOptions> = {}): UpstreamPool {
  return new UpstreamPool(origin, { ...OPTIONS, ...options });
}

/** Runs `test` with a pool to `upstream`; both are closed after, whatever happens. */
export async function withClient(
  upstream: ScriptedUpstream,
  options: Partial<PoolOptions>,
  test: (client: UpstreamPool) => Promise<void>,
): Promise<void>;
export async function withClient(
  upstream: ScriptedUpstream,
  test: (client: UpstreamPool) => Promise<void>,
): Promise<void>;
export async function withClient(
  upstream: ScriptedUpstream,
  ...args:
    | [Partial<PoolOptions>, (client: UpstreamPool) => Promise<void>]
    | [(client: UpstreamPool) => Promise<void>]
): Promise<void> {
  const [options, test] = args.length === 2 ? args : [{}, args[0]];
  const client = pool(upstream.origin, options);
  try {
    await test(client);
  } finally {
    await client.destroy();
    await upstream.close();
  }
}

export interface RequestSpec {
  method?: string;
  path?: string;
  headers?: string[];
  body?: Readable | null;
  contentLength?: number | null;
}

/** A handler that collects everything; `hooks` let a test act at each step. */
export class Collector implements ExchangeHandler {
  readonly outcome: Outcome = { body: Buffer.alloc(0) };
  readonly done: Promise<Outcome>;
  abort: ((reason: Error) => void) | undefined;
  resume: (() => void) | undefined;
  /** Answer false from onData (a lagging consumer) while set. */
  paused = false;
  received = 0;
  readonly #parts: Buffer[] = [];
  #settle!: (outcome: Outcome) => void;

  constructor() {
    this.done = new Promise((resolve) => (this.#settle = resolve));
  }

  onConnect(abort: (reason: Error) => void): void {
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean {
    Object.assign(this.outcome, { status: statusCode, statusText, headers: rawHeaders });
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#parts.push(chunk);
    this.received += chunk.length;
    return !this.paused;
  }

  onComplete(): void {
    this.outcome.body = Buffer.concat(this.#parts);
    this.#settle(this.outcome);
  }

  onError(error: Error): void {
    this.outcome.body = Buffer.concat(this.#parts);
    this.outcome.error = error;
    this.#settle(this.outcome);
  }
}

export function send(target: UpstreamPool, spec: RequestSpec = {}, handler = new Collector()): Collector {
  target.dispatch(
    {
      method: spec.method ?? 'GET',
      path: spec.path ?? '/',
      headers: spec.headers ?? ['Host', 'kallithea.test'],
      body: spec.body ?? null,
      contentLength: spec.contentLength ?? null,
    },
    handler,
  );
  return handler;
}
