// A stand-in for Kallithea that holds each response until the test releases it, so a request
// can be in flight at the moment the test signals the bridge.
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export class HeldUpstream {
  readonly #server: Server;
  readonly #held: ServerResponse[] = [];
  readonly #sockets = new Set<Socket>();
  #arrived: (() => void) | undefined;
  origin = '';

  constructor() {
    this.#server = createServer((request, response) => {
      request.resume();
      this.#held.push(response);
      this.#arrived?.();
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  async listen(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.origin = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves once a request is being held. */
  async arrived(): Promise<void> {
    while (this.#held.length === 0) await new Promise<void>((resolve) => (this.#arrived = resolve));
  }

  /** Answers every held request with 200 and `body`. */
  release(body: string): void {
    for (const response of this.#held.splice(0)) {
      response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
