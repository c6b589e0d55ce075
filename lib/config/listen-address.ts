// The one grammar of bridge addresses, shared by everything that reads one: the bridge's
// `--listen` and [bridge] listen (lib/bridge/fastcgi/server.ts binds it), [isapi]
// bridge_address (where the DLL connects), and `kallithea-isapi check`, which validates both
// keys. Same parser, same refusals, same fix in the message.
//
//   unix:<absolute path>       at most 107 bytes (sun_path holds 108 with its NUL)
//   tcp:<loopback host>:<port> 127.x.x.x, [::1] or localhost; port 0 (any) only to listen;
//                              to connect (the DLL), an IP literal: it resolves no names
//   pipe:\\.\pipe\<name>       Windows named pipe, the name 1-256 characters, no `\`
// The unix and pipe limits are those the DLL checks too (native/isapi/pool/address.cpp).
import { ListenAddressError } from './errors.js';

export type ListenAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'pipe'; path: string };

export interface ListenAddressOptions {
  /** An address to connect to rather than to bind: port 0 means nothing there. */
  readonly connect?: boolean;
}

const LOOPBACK_HOSTS = new Set(['::1', '[::1]', 'localhost']);
const UNIX_PATH_MAX = 107;
const FORMS = 'use unix:/path/to.sock, tcp:127.0.0.1:<port> or pipe:\\\\.\\pipe\\<name>';

function isAbsolute(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path);
}

export function parseListenAddress(text: string, options: ListenAddressOptions = {}): ListenAddress {
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  switch (scheme) {
    case 'unix':
      if (!isAbsolute(rest)) {
        throw new ListenAddressError(
          text,
          'give an absolute socket path, e.g. unix:/run/kallithea-isapi.sock',
        );
      }
      if (Buffer.byteLength(rest) > UNIX_PATH_MAX) {
        throw new ListenAddressError(
          text,
          `the socket path is over ${UNIX_PATH_MAX} bytes; pick a shorter one`,
        );
      }
      return { kind: 'unix', path: rest };
    case 'pipe':
      if (!/^\\\\\.\\pipe\\[^\\]{1,256}$/i.test(rest)) {
        throw new ListenAddressError(
          text,
          'a pipe path looks like pipe:\\\\.\\pipe\\<name>, the name at most 256 characters, no backslash',
        );
      }
      return { kind: 'pipe', path: rest };
    case 'tcp': {
      const portAt = rest.lastIndexOf(':');
      const host = rest.slice(0, portAt);
      const portText = rest.slice(portAt + 1);
      const port = Number(portText);
      const least = options.connect === true ? 1 : 0;
      if (portAt < 0 || !/^\d{1,5}$/.test(portText) || port < least || port > 65535) {
        throw new ListenAddressError(
          text,
          `give a host and a port from ${least} to 65535: tcp:127.0.0.1:9000`,
        );
      }
      if (!LOOPBACK_HOSTS.has(host) && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
        throw new ListenAddressError(text, 'the bridge listens on loopback only; use tcp:127.0.0.1:<port>');
      }
      if (options.connect === true && host === 'localhost') {
        throw new ListenAddressError(
          text,
          'the DLL connects to an IP literal and resolves no names; use tcp:127.0.0.1:<port>',
        );
      }
      return { kind: 'tcp', host: host.replace(/^\[(.*)\]$/, '$1'), port };
    }
    default:
      throw new ListenAddressError(text, FORMS);
  }
}

/** The fix for a bad address, or undefined when it is good (for `check`'s problem lists). */
export function listenAddressProblem(text: string, options: ListenAddressOptions = {}): string | undefined {
  try {
    parseListenAddress(text, options);
    return undefined;
  } catch (error) {
    if (error instanceof ListenAddressError) return error.fix;
    throw error;
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
