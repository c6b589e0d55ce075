// A raw TCP peer standing in for Kallithea in the upstream client's tests: it reads real
// HTTP/1.1 requests off the socket and answers with whatever bytes the test scripts, true
// or lying (bad lengths, broken chunks, garbage, closes at the worst moment).
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ReceivedRequest {
  /** The request line and headers, without the blank line. */
  readonly head: string;
  /** The body, de-chunked if it was chunked. */
  readonly body: Buffer;
}

/** One accepted connection, read request by request. */
export class ScriptedConnection {
  readonly socket: Socket;
  /** Bytes read and not yet taken, as they came (joined only to search them). */
  #parts: Buffer[] = [];
  #length = 0;
  #wake: (() => void) | null = null;
  #ended = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (data: Buffer) => {
      this.#parts.push(data);
      this.#length += data.length;
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }

  /** Resolves once the connection is closed by the other side. */
  closed(): Promise<void> {
    return this.socket.closed ? Promise.resolve() : once(this.socket, 'close').then(() => undefined);
  }

  /** The next request's head only (its body, if any, is left unread). */
  async readHead(): Promise<string> {
    const end = await this.#until(() => {
      const at = this.#joined().indexOf('\r\n\r\n');
      return at < 0 ? undefined : at;
    });
    return (await this.#take(end + 4)).toString('latin1', 0, end);
  }

  /** The next whole request, its body framed by Content-Length or chunked. */
  async readRequest(): Promise<ReceivedRequest> {
    const head = await this.readHead();
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length !== null) return { head, body: await this.#take(Number(length[1])) };
    if (!/\r\ntransfer-encoding: *chunked/i.test(head)) return { head, body: Buffer.alloc(0) };
    const parts: Buffer[] = [];
    for (;;) {
      const line = await this.#line();
      const size = parseInt(line, 16);
      if (size === 0) {
        await this.#line();
        return { head, body: Buffer.concat(parts) };
      }
      parts.push(await this.#take(size));
      await this.#take(2);
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  async #line(): Promise<string> {
    const end = await this.#until(() => {
      const at = this.#joined().indexOf('\r\n');
      return at < 0 ? undefined : at;
    });
    return (await this.#take(end + 2)).toString('latin1', 0, end);
  }

  async #take(size: number): Promise<Buffer> {
    await this.#until(() => (this.#length >= size ? size : undefined));
    const joined = this.#joined();
    this.#parts = joined.length > size ? [joined.subarray(size)] : [];
    this.#length -= size;
    return joined.subarray(0, size);
  }

  #joined(): Buffer {
    if (this.#parts.length !== 1) this.#parts = [Buffer.concat(this.#parts)];
    return this.#parts[0] as Buffer;
  }

  async #until(found: () => number | undefined): Promise<number> {
    for (;;) {
      const at = found();
      if (at !== undefined) return at;
      if (this.#ended) throw new Error('the client closed the connection');
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
  }
}

export class ScriptedUpstream {
  readonly #server: Server;
  readonly connections: ScriptedConnection[] = [];
  origin = '';

  /** `serve` runs once per accepted connection. */
  constructor(serve: (connection: ScriptedConnection) => Promise<void> | void) {
    this.#server = createServer((socket) => {
      const connection = new ScriptedConnection(socket);
      this.connections.push(connection);
      Promise.resolve(serve(connection)).catch(() => socket.destroy());
    });
  }

  async listen(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.origin = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.socket.destroy();
    this.#server.close();
    await once(this.#server, 'close');
  }
}
