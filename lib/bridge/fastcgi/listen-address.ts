// Where the responder listens: `unix:/path/to.sock`, `tcp:127.0.0.1:9000` (loopback only)
// or `pipe:\\.\pipe\name` (Windows). parseListenAddress() checks the text; server.ts
// calls prepareUnixSocketPath() before binding and formatListenAddress() to report
// the address it actually bound (a tcp port 0 becomes the real port).
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { ListenAddressError } from '../errors.js';

export type ListenAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'pipe'; path: string };

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);
const FORMS = 'use unix:/path/to.sock, tcp:127.0.0.1:<port> or pipe:\\\\.\\pipe\\<name>';

export function parseListenAddress(text: string): ListenAddress {
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  switch (scheme) {
    case 'unix':
      if (rest === '') throw new ListenAddressError(text, 'the socket path is empty; ' + FORMS);
      return { kind: 'unix', path: rest };
    case 'pipe':
      if (!/^\\\\[.?]\\pipe\\.+/i.test(rest)) {
        throw new ListenAddressError(text, 'a pipe path looks like pipe:\\\\.\\pipe\\<name>');
      }
      return { kind: 'pipe', path: rest };
    case 'tcp': {
      const portAt = rest.lastIndexOf(':');
      const host = rest.slice(0, portAt);
      const portText = rest.slice(portAt + 1);
      const port = Number(portText);
      if (portAt < 0 || !/^\d+$/.test(portText) || port > 65535) {
        throw new ListenAddressError(text, 'give a host and a port: tcp:127.0.0.1:9000');
      }
      if (!LOOPBACK_HOSTS.has(host) && !host.startsWith('127.')) {
        throw new ListenAddressError(text, 'the bridge listens on loopback only; use tcp:127.0.0.1:<port>');
      }
      return { kind: 'tcp', host: host.replace(/^\[(.*)\]$/, '$1'), port };
    }
    default:
      throw new ListenAddressError(text, FORMS);
  }
}

export function formatListenAddress(address: ListenAddress): string {
  switch (address.kind) {
    case 'unix':
      return `unix:${address.path}`;
    case 'pipe':
      return `pipe:${address.path}`;
    case 'tcp':
      return `tcp:${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  }
}

/**
 * Makes a Unix socket path free to bind: a stale socket file (nobody accepts on it) is
 * removed; a live one, or a file that is not a socket, is refused.
 */
export async function prepareUnixSocketPath(path: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new ListenAddressError(
      `unix:${path}`,
      'the path exists and is not a socket; remove it or pick another',
    );
  }
  if (await somebodyListens(path)) {
    throw new ListenAddressError(`unix:${path}`, 'another process is listening on this socket');
  }
  await unlink(path);
}

function somebodyListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
