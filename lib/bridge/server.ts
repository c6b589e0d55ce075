// The bridge host: FastCGI responder -> environ -> pipeline -> forwarder -> Kallithea, wired
// from settings: an external Kallithea, or (with [bridge] python) a pool of Kallithea
// workers the bridge runs itself. close() stops accepting, lets requests in flight finish up
// to the shutdown timeout, then closes the pool to Kallithea and stops the workers.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { BridgeSettings } from '../config/bridge-section.js';
import { statusDefaults, type StatusSettings } from '../config/status-section.js';
import { FastCgiServer } from './fastcgi/server.js';
import { createForwarder } from './forwarder/forwarder.js';
import { HeaderPolicy } from './headers/policy.js';
import { standardPipeline } from './pipeline/index.js';
import { RequestTally } from './status/request-tally.js';
import { packageVersion } from './status/version.js';
import { WorkerPool, type WorkerStatus } from './workers/worker-pool.js';
import { wsgiHandler } from './wsgi-handler.js';

export interface BridgeOptions {
  readonly settings: BridgeSettings;
  /** Where to listen (unix:, tcp:, pipe:); overrides settings.listen. */
  readonly listen?: string;
  /** The hop secret every FastCGI request must carry. */
  readonly secret: string;
  /** Who may see the status page besides the local machine; default: nobody else. */
  readonly status?: StatusSettings;
  /** Error and lifecycle lines. Default: stderr. */
  readonly log?: (line: string) => void;
  /** The Kallithea workers' own output. Default: stderr. */
  readonly workerOutput?: (text: string) => void;
}

export interface RunningBridge {
  /** The address bound (tcp port 0 resolved). */
  readonly address: string;
  /** FastCGI connections accepted so far (kept-alive reuse shows as a small number). */
  acceptedConnections(): number;
  /** Each Kallithea worker's state; empty when Kallithea is external. */
  workers(): WorkerStatus[];
  close(): Promise<void>;
}

function stderrLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Access log lines gathered and written together, at most LOG_FLUSH_MS after the first or
 * once LOG_FLUSH_BYTES are waiting: under load one write (a thread-pool round trip for a
 * file) serves many requests instead of one each. close() flushes what is left.
 */
const LOG_FLUSH_MS = 100;
const LOG_FLUSH_BYTES = 64 * 1024;

class LineBatch {
  readonly #write: (text: string) => void;
  #pending = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  add(line: string): void {
    this.#pending += `${line}\n`;
    if (this.#pending.length >= LOG_FLUSH_BYTES) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), LOG_FLUSH_MS);
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    this.#write(text);
  }
}

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  const { settings } = options;
  const startedAt = Date.now();
  const log = options.log ?? stderrLine;
  const listen = options.listen ?? settings.listen;
  if (listen === undefined) throw new Error('no listen address: give --listen or [bridge] listen');

  let accessFile: WriteStream | undefined;
  let accessText = (text: string): void => void process.stderr.write(text);
  if (settings.accessLog !== '-') {
    const file = createWriteStream(settings.accessLog, { flags: 'a' });
    accessFile = file;
    file.on('error', (error) => log(`access log ${settings.accessLog}: ${error.message}`));
    accessText = (text) => void file.write(text);
  }
  const accessLog = new LineBatch(accessText);

  const pool =
    settings.python === undefined || settings.kallitheaConfig === undefined
      ? undefined
      : await WorkerPool.start({
          python: settings.python,
          config: settings.kallitheaConfig,
          workers: settings.workers,
          maxWorkers: Math.max(settings.workers, settings.maxWorkers),
          idleTimeout: settings.workerIdleTimeout,
          lowerStreamPriority: settings.streamPriority === 'below_normal',
          startTimeout: settings.workerStartTimeout,
          rapidFailsPerMinute: settings.rapidFailsPerMinute,
          maxQueued: settings.maxQueued,
          timeouts: settings,
          log: (line) => log(`bridge: ${line}`),
          output: options.workerOutput ?? ((text) => void process.stderr.write(text)),
        });
  const forwarder = createForwarder({
    upstream: settings.upstream,
    upstreams: pool?.router,
    connectTimeout: settings.connectTimeout,
    headersTimeout: settings.headersTimeout,
    bodyTimeout: settings.bodyTimeout,
    maxConnections: settings.maxConnections,
    tcpKeepAlive: settings.upstreamTcpKeepAlive,
  });
  const tally = new RequestTally();
  const app = standardPipeline(forwarder.app, {
    userHeader: settings.userHeader,
    accessLog: (line) => accessLog.add(line),
    errorLog: (line) => log(`bridge: ${line}`),
    tally,
    status: {
      users: (options.status ?? statusDefaults).users,
      log: (line) => log(`bridge: ${line}`),
      sources: {
        version: packageVersion,
        startedAt,
        tally,
        upstream: () => forwarder.figures(),
        kallithea: pool === undefined ? settings.upstream : 'workers',
        workers: () => pool?.status() ?? [],
      },
    },
  });
  const server = new FastCgiServer({
    handler: wsgiHandler(app, new HeaderPolicy({ userHeader: settings.userHeader })),
    secret: options.secret,
    log,
    handshakeTimeoutMs: settings.handshakeTimeout * 1000,
  });
  let address: string;
  try {
    address = await server.listen(listen);
  } catch (error) {
    await forwarder.destroy();
    accessFile?.end();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    address,
    acceptedConnections: () => server.acceptedConnections,
    workers: () => pool?.status() ?? [],
    close() {
      closing ??= (async () => {
        await server.close(settings.shutdownTimeout * 1000);
        await forwarder.destroy();
        accessLog.flush();
        if (accessFile !== undefined) await new Promise<void>((resolve) => accessFile?.end(resolve));
      })();
      return closing;
    },
  };
}
