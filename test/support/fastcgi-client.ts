// A small FastCGI client for tests: it plays the web server (what the DLL or nginx do)
// against the responder. It writes records made by lib/bridge/fastcgi/records.ts and
// reads the answers with the same RecordParser the responder uses, so tests can speak
// both well-formed requests (request(), getValues()) and raw bytes (send()).
import { connect as netConnect, type Socket } from 'node:net';
import { RecordParser, type FastCgiRecord } from '../../lib/bridge/fastcgi/record-parser.js';
import {
  encodeBeginRequest,
  encodeParams,
  encodeStream,
  encodeGetValues,
} from '../../lib/bridge/fastcgi/records.js';
import { FCGI_KEEP_CONN, RecordType, Role } from '../../lib/bridge/fastcgi/protocol.js';
import { SECRET_PARAM } from '../../lib/bridge/fastcgi/handler.js';

export interface TestRequest {
  id?: number;
  params?: Record<string, string>;
  /** Added as SECRET_PARAM unless null. */
  secret?: string | null;
  stdin?: Buffer;
  keepConn?: boolean;
  role?: number;
}

export interface TestResponse {
  /** False when the connection closed before END_REQUEST. */
  ended: boolean;
  stdout: Buffer;
  stderr: string;
  appStatus: number;
  protocolStatus: number;
}

export class FastCgiTestClient {
  readonly socket: Socket;
  readonly #parser = new RecordParser('responder');
  readonly #records: FastCgiRecord[] = [];
  #wake: (() => void) | null = null;
  #isClosed = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#isClosed = true;
      this.#notify();
    });
    socket.on('data', (chunk: Buffer) => {
      this.#parser.input(chunk);
      for (;;) {
        const result = this.#parser.parse();
        if (result.status === 'again') break;
        if (result.status === 'error') throw result.error;
        this.#records.push(result.record);
      }
      this.#notify();
    });
  }

  /** Connects to a `unix:` or `tcp:` address as FastCgiServer.listen() reports it. */
  static connect(address: string): Promise<FastCgiTestClient> {
    return new Promise((resolve, reject) => {
      let socket: Socket;
      if (address.startsWith('unix:')) socket = netConnect(address.slice(5));
      else {
        const m = /^tcp:\[?([^\]]*)\]?:(\d+)$/.exec(address);
        if (m === null) throw new Error(`cannot connect to ${address}`);
        socket = netConnect(Number(m[2]), m[1]);
      }
      socket.once('connect', () => resolve(new FastCgiTestClient(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  send(data: Uint8Array): boolean {
    return this.socket.write(data);
  }

  /** The next record from the responder, or null once the connection closed. */
  async nextRecord(): Promise<FastCgiRecord | null> {
    for (;;) {
      const record = this.#records.shift();
      if (record !== undefined) return record;
      if (this.#isClosed) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** BEGIN_REQUEST, PARAMS and STDIN, as bytes: for tests that cut or mangle them. */
  static encodeRequest(request: TestRequest, secret: string | null): Buffer {
    const id = request.id ?? 1;
    const params = { ...request.params };
    if (secret !== null) params[SECRET_PARAM] = secret;
    const parts = [
      encodeBeginRequest(id, request.role ?? Role.Responder, (request.keepConn ?? true) ? FCGI_KEEP_CONN : 0),
      encodeParams(id, Object.entries(params)),
    ];
    if (request.stdin !== undefined && request.stdin.length > 0) {
      parts.push(encodeStream(RecordType.Stdin, id, request.stdin));
    }
    parts.push(encodeStream(RecordType.Stdin, id, Buffer.alloc(0)));
    return Buffer.concat(parts);
  }

  /** Sends a whole request and collects its answer until END_REQUEST or close. */
  async request(request: TestRequest, secret: string | null): Promise<TestResponse> {
    this.send(
      FastCgiTestClient.encodeRequest(request, request.secret === undefined ? secret : request.secret),
    );
    return this.readResponse(request.id ?? 1);
  }

  async readResponse(id: number): Promise<TestResponse> {
    const stdout: Buffer[] = [];
    let stderr = '';
    for (;;) {
      const record = await this.nextRecord();
      if (record === null) {
        return { ended: false, stdout: Buffer.concat(stdout), stderr, appStatus: -1, protocolStatus: -1 };
      }
      if (record.requestId !== id) throw new Error(`record for request ${record.requestId}, expected ${id}`);
      if (record.kind === 'stream' && record.type === RecordType.Stdout) stdout.push(record.content);
      else if (record.kind === 'stream' && record.type === RecordType.Stderr)
        stderr += record.content.toString();
      else if (record.kind === 'end-request') {
        const { appStatus, protocolStatus } = record;
        return { ended: true, stdout: Buffer.concat(stdout), stderr, appStatus, protocolStatus };
      } else throw new Error(`unexpected ${record.kind} record`);
    }
  }

  async getValues(names: string[]): Promise<Map<string, string>> {
    this.send(encodeGetValues(names));
    const record = await this.nextRecord();
    if (record?.kind !== 'get-values-result')
      throw new Error(`expected GET_VALUES_RESULT, got ${record?.kind}`);
    return record.values;
  }

  close(): void {
    this.socket.destroy();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/** Splits a CGI response (STDOUT) into status, headers and body. */
export function parseCgiResponse(stdout: Buffer): {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
} {
  const end = stdout.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('no end of the CGI header block');
  const headers = new Map<string, string>();
  for (const line of stdout.toString('latin1', 0, end).split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const status = Number((headers.get('status') ?? '').split(' ')[0]);
  return { status, headers, body: stdout.subarray(end + 4) };
}
