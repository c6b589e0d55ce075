// IsapiHost options: validated and defaulted here, so native code gets only checked values.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { BridgeError } from '../bridge/errors.js';
import type { AuthOptions } from './auth.js';
import type { NativeHostOptions } from './binding.js';

export interface IsapiHostOptions {
  /** The extension: a .so built from an ISAPI DLL's sources (a .dll on Windows). */
  dll: string;
  /** The IIS application (virtual directory) the `*` map sits on; default '/'. */
  virtualDir?: string;
  /** IIS site id (APPL_MD_PATH /LM/W3SVC/<siteId>/ROOT...); default 1. */
  siteId?: number;
  /** Folder the virtual directory maps to; default C:\inetpub\wwwroot plus the vdir. */
  physicalPath?: string;
  /** Body bytes pre-read into lpbData (IIS UploadReadAheadSize); default 49152. */
  readAhead?: number;
  /** Body bytes the host holds per request before pausing the client; default 256 KiB. */
  bodyBuffer?: number;
  /**
   * Response bytes per request the host takes from the extension before the socket has
   * them: within this, WriteClient returns (or completes) at once, as IIS's does once the
   * TCP stack took the bytes; past it, the extension waits for the socket. Default 256 KiB;
   * 0 makes every write wait for the socket.
   */
  writeBuffer?: number;
  /**
   * Threads each of the two host pools starts with (one runs HttpExtensionProc, one the
   * I/O completions); default one per CPU (they grow while extensions block them).
   */
  threads?: number;
  /** Each pool grows to this many threads while extensions keep its threads blocked; default 256. */
  maxThreads?: number;
  /** Verifier: log a warning when an extension blocks a host thread this long; default 10 s. */
  blockWarnMs?: number;
  auth?: AuthOptions;
  /** Verifier mode: contract breaches become violations, answered with 500 or an abort. */
  verify?: boolean;
  /** Verifier: a PENDING request without DONE_WITH_SESSION after this long; default 60 s. */
  doneTimeoutMs?: number;
  /** close() waits this long for outstanding requests before TerminateExtension; default 30 s. */
  closeTimeoutMs?: number;
  /**
   * One line per finished request (IIS-log-like); default: none. Lines are batched like
   * IIS's buffered log: one call for the lines of up to 100 ms (and the rest at close),
   * several lines joined by '\n'.
   */
  accessLog?: (line: string) => void;
}

export interface CheckedOptions extends NativeHostOptions {
  auth: AuthOptions | undefined;
  closeTimeoutMs: number;
  accessLog: ((line: string) => void) | undefined;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new BridgeError(
      'ERR_HOST_OPTION',
      `isapi-host option ${name} must be an integer >= ${min}, got ${value}`,
    );
  }
  return value;
}

export function normalizeVirtualDir(value: string | undefined): string {
  if (value === undefined || value === '' || value === '/') return '/';
  if (!value.startsWith('/') || value.includes('?') || value.includes('\\')) {
    throw new BridgeError(
      'ERR_HOST_OPTION',
      `isapi-host option virtualDir must look like /name, got ${value}`,
    );
  }
  return value.replace(/\/+$/, '');
}

export function checkOptions(options: IsapiHostOptions): CheckedOptions {
  if (typeof options.dll !== 'string' || options.dll === '') {
    throw new BridgeError('ERR_HOST_OPTION', 'isapi-host option dll (the extension to load) is required');
  }
  if (!existsSync(options.dll)) {
    throw new BridgeError('ERR_HOST_OPTION', `isapi-host: the extension ${options.dll} does not exist`);
  }
  const virtualDir = normalizeVirtualDir(options.virtualDir);
  const readAhead = positiveInteger('readAhead', options.readAhead, 48 * 1024, 0);
  return {
    dll: options.dll,
    virtualDir,
    siteId: positiveInteger('siteId', options.siteId, 1),
    physicalPath:
      options.physicalPath ??
      'C:\\inetpub\\wwwroot' + (virtualDir === '/' ? '' : virtualDir.replaceAll('/', '\\')),
    readAhead,
    bodyBuffer: positiveInteger('bodyBuffer', options.bodyBuffer, Math.max(256 * 1024, readAhead)),
    writeBuffer: positiveInteger('writeBuffer', options.writeBuffer, 256 * 1024, 0),
    threads: positiveInteger('threads', options.threads, availableParallelism()),
    maxThreads: positiveInteger('maxThreads', options.maxThreads, 256),
    blockWarnMs: positiveInteger('blockWarnMs', options.blockWarnMs, 10_000),
    verify: options.verify ?? false,
    doneTimeoutMs: positiveInteger('doneTimeoutMs', options.doneTimeoutMs, 60_000),
    closeTimeoutMs: positiveInteger('closeTimeoutMs', options.closeTimeoutMs, 30_000, 0),
    auth: options.auth,
    accessLog: options.accessLog,
  };
}
