// Raw bytes >= 0x80 in request-targets, accepted as http.sys accepts them: the host owns each
// connection's bytes before Node's parser (llhttp) sees them (target-scanner.ts percent-
// encodes those bytes in request-targets only) and keeps each request's target as sent,
// for UNENCODED_URL and the canonical path the extension gets.
//
// How the bytes are taken: Node's HTTP server feeds its parser from the socket's 'data'
// listener it adds on 'connection' ('secureConnection' for HTTPS, the decrypted stream);
// that listener is swapped for one that rewrites first. Adding a 'data' listener is what
// makes Node read the socket in JavaScript instead of handing its handle to the parser.
// The socket itself stays the real net.Socket / TLSSocket (remote address, TLS facts,
// raw writes and destroySoon for close-delimited responses), which a Duplex passed to
// 'connection' would not be.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { TargetScanner } from './target-scanner.js';

type DataListener = (chunk: Buffer) => void;

const scanners = new WeakMap<Socket, TargetScanner>();

/**
 * Lets `server` take request-targets with raw bytes >= 0x80 (call it once, before any
 * connection). Requests then reach the handler with those bytes percent-encoded in req.url;
 * rawTarget(req) gives the target as sent.
 */
export function acceptRawTargets(server: HttpServer | HttpsServer): void {
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
  // Runs right after the HTTP server's own listener (added when the server was made).
  server.on(event, (socket: Socket) => takeBytes(socket));
}

/** The request-target as the client sent it (latin1, one character per byte). */
export function rawTarget(req: IncomingMessage): string {
  const url = req.url ?? '/';
  return scanners.get(req.socket)?.take(url)?.raw ?? url;
}

function takeBytes(socket: Socket): void {
  const parse = socket.listeners('data') as DataListener[];
  const httpEnd = socket.listeners('end').at(-1);
  // Not the layout this was written against (one parsing listener): leave the socket as
  // Node set it up, raw targets then get llhttp's 400 as before.
  const [parseData] = parse;
  if (parse.length !== 1 || parseData === undefined || httpEnd === undefined) return;
  const scanner = new TargetScanner();
  scanners.set(socket, scanner);
  socket.removeListener('data', parseData);
  // After an upgrade (or CONNECT) Node's server lets go of the socket (it removes its 'end'
  // listener among others) and frees its parser: feeding that parser again could corrupt
  // another connection.
  let serverAttached = true;
  socket.on('removeListener', (event: string | symbol, listener: unknown) => {
    if (event === 'end' && listener === httpEnd) serverAttached = false;
  });
  const forward = (chunk: Buffer): void => {
    if (!serverAttached) {
      socket.removeListener('data', forward);
      return;
    }
    parseData.call(socket, scanner.rewrite(chunk));
  };
  socket.on('data', forward);
}
