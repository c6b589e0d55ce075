// The one place that finds and loads the isapi_host addon (build/Release/isapi_host.node,
// built by node-gyp from binding.gyp) and checks that it is the build this code expects.
// KALLITHEA_ISAPI_HOST_ADDON names another .node (the ASan build, for instance).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BridgeError } from '../bridge/errors.js';
import type { TlsFacts } from './tls-facts.js';

/** The request facts the native side turns into an ECB and server variables. */
export interface NativeRequestInfo {
  method: string;
  /** The raw request-target, latin1 (one char per byte). */
  target: string;
  httpVersion: string;
  /**
   * The header lines as received, "name\nvalue\nname\nvalue" (rawHeaders joined with LF,
   * which Node's parser never leaves in a name or value), latin1: one string crosses to
   * native code instead of two per header.
   */
  headers: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  keepAlive: boolean;
  lengthKnown: boolean;
  contentLength: number;
  /** HTTPS only. */
  tls: TlsFacts | undefined;
  authType: string;
  authUser: string;
}

export interface NativeHostOptions {
  dll: string;
  virtualDir: string;
  physicalPath: string;
  siteId: number;
  readAhead: number;
  bodyBuffer: number;
  writeBuffer: number;
  threads: number;
  maxThreads: number;
  blockWarnMs: number;
  verify: boolean;
  doneTimeoutMs: number;
}

/**
 * Event kinds, as native/host/core/events.h numbers and documents them. `headers`: num is
 * the status code, text the reason phrase, text2 the header fields as
 * "name\nvalue\nname\nvalue" (both latin1, one char per byte), data the body bytes that
 * go out with the head.
 */
export const NativeEventKind = {
  headers: 1,
  write: 2,
  resume: 3,
  done: 4,
  closeConnection: 5,
  violation: 6,
  log: 7,
  closed: 8,
  finished: 9,
} as const;

export type NativeEventHandler = (
  kind: number,
  id: number,
  text: string,
  data: Buffer | undefined,
  flag: boolean,
  num: number,
  text2: string,
) => void;

/** begin()'s flags, as native/host/addon/host_object.cc reads them. */
const BeginFlag = { keepAlive: 1, lengthKnown: 2 } as const;

export interface NativeIsapiHost {
  /** beginRequest() lays the arguments out; the id, 0 when the host is closing. */
  begin(
    method: string,
    target: string,
    httpVersion: string,
    headers: string,
    remoteAddress: string,
    remotePort: number,
    localAddress: string,
    localPort: number,
    flags: number,
    contentLength: number,
    authType: string,
    authUser: string,
    tls: TlsFacts | undefined,
  ): number;
  pushBody(id: number, chunk: Buffer): boolean;
  endBody(id: number): void;
  /** The socket took (ok) or refused the writes up to the awaited write event numbered seq. */
  writeDone(id: number, seq: number, ok: boolean): void;
  /**
   * The socket is done with a write event's Buffer: its memory goes back now rather than
   * at a garbage collection (the Buffer is empty afterwards).
   */
  releaseBuffer(data: Buffer): void;
  clientGone(id: number): void;
  /**
   * The requests begin(), pushBody() and endBody() dispatched get a pool thread: call it
   * once per turn of the event loop in which any of them was called (one wake of a host
   * thread for the batch instead of one per request).
   */
  wakeDispatches(): void;
  /** Gives back what a burst of requests left in the heaps (V8's and malloc's). */
  releaseMemory(): void;
  close(deadlineMs: number): void;
  releaseEvents(): void;
  liveRequests(): number;
  poolThreads(): number;
  /** The virtual-directory gate on the canonical path (decoded, dot segments removed). */
  insideVirtualDir(target: string): boolean;
  extension(): { version?: number; description?: string };
}

/**
 * Hands a request to native code: its id, 0 when the host is closing. The facts cross as
 * positional arguments, which native code reads by index; an object's properties would
 * be a lookup by name each, on every request.
 */
export function beginRequest(native: NativeIsapiHost, info: NativeRequestInfo): number {
  const flags = (info.keepAlive ? BeginFlag.keepAlive : 0) | (info.lengthKnown ? BeginFlag.lengthKnown : 0);
  return native.begin(
    info.method,
    info.target,
    info.httpVersion,
    info.headers,
    info.remoteAddress,
    info.remotePort,
    info.localAddress,
    info.localPort,
    flags,
    info.contentLength,
    info.authType,
    info.authUser,
    info.tls,
  );
}

export interface IsapiHostBinding {
  NativeIsapiHost: new (options: NativeHostOptions, onEvent: NativeEventHandler) => NativeIsapiHost;
  abiVersion: number;
  /** The AddressSanitizer build: retired ECBs' fields are ASan-poisoned (verifier mode). */
  retiredEcbsPoisoned: boolean;
}

const expectedAbiVersion = 4;
let loaded: IsapiHostBinding | undefined;

/** The package root: the nearest folder above this file with binding.gyp. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'binding.gyp')) && existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new BridgeError('ERR_HOST_ADDON_MISSING', 'cannot find the package root');
    dir = parent;
  }
}

function candidates(): string[] {
  const override = process.env['KALLITHEA_ISAPI_HOST_ADDON'];
  if (override !== undefined && override !== '') return [override];
  const root = packageRoot();
  return [join(root, 'build', 'Release', 'isapi_host.node'), join(root, 'build', 'Debug', 'isapi_host.node')];
}

/** Loads (once) and checks the addon. Throws a BridgeError that says how to build it. */
export function loadBinding(): IsapiHostBinding {
  if (loaded !== undefined) return loaded;
  const paths = candidates();
  const path = paths.find((p) => existsSync(p));
  if (path === undefined) {
    throw new BridgeError(
      'ERR_HOST_ADDON_MISSING',
      `the isapi_host addon is not built (looked for ${paths.join(', ')}); run 'npx node-gyp rebuild'`,
    );
  }
  const require = createRequire(import.meta.url);
  const binding = require(path) as Partial<IsapiHostBinding>;
  if (typeof binding.NativeIsapiHost !== 'function' || binding.abiVersion !== expectedAbiVersion) {
    throw new BridgeError(
      'ERR_HOST_ADDON_MISMATCH',
      `${path} is not a matching isapi_host build (abiVersion ${String(binding.abiVersion)}, ` +
        `expected ${expectedAbiVersion}); run 'npx node-gyp rebuild'`,
    );
  }
  loaded = binding as IsapiHostBinding;
  return loaded;
}

/** The package's version, for SERVER_SOFTWARE-style banners. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
