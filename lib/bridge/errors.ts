// Every failure the bridge host names: one class per failure, each with a stable `code`
// that logs, error pages and tests key on (and an HTTP `status` where one fits). A flat
// list on purpose: grep for the code, find the class.

/** The base of every bridge error. `code` never changes once released. */
export class BridgeError extends Error {
  readonly code: string;
  readonly status: number | undefined;

  constructor(code: string, message: string, status?: number) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
}

// --- FastCGI: what the web server (the DLL, nginx) sent ---

/** A record header's version byte is not 1. */
export class FastCgiVersionError extends BridgeError {
  constructor(peer: string, version: number) {
    super('ERR_FASTCGI_VERSION', `${peer} sent unsupported FastCGI version ${version}`);
  }
}

/** A record whose content does not fit its type (a BEGIN_REQUEST body that is not 8 bytes...). */
export class FastCgiMalformedRecordError extends BridgeError {
  constructor(peer: string, detail: string) {
    super('ERR_FASTCGI_MALFORMED_RECORD', `${peer} sent a malformed FastCGI record: ${detail}`);
  }
}

/** A name-value pair whose lengths run past the end of its block. */
export class FastCgiMalformedParamsError extends BridgeError {
  constructor(peer: string, detail: string) {
    super('ERR_FASTCGI_MALFORMED_PARAMS', `${peer} sent malformed FastCGI name-value pairs: ${detail}`);
  }
}

/** The PARAMS stream of one request is longer than the configured limit. */
export class FastCgiParamsTooLargeError extends BridgeError {
  constructor(peer: string, limit: number) {
    super('ERR_FASTCGI_PARAMS_TOO_LARGE', `${peer} sent FastCGI params over the limit of ${limit} bytes`);
  }
}

/** The PARAMS stream of one request holds more pairs than the configured limit. */
export class FastCgiTooManyParamsError extends BridgeError {
  constructor(peer: string, limit: number) {
    super('ERR_FASTCGI_TOO_MANY_PARAMS', `${peer} sent more than ${limit} FastCGI params`);
  }
}

/** A well-formed record that is wrong at this point of the conversation. */
export class FastCgiUnexpectedRecordError extends BridgeError {
  constructor(peer: string, detail: string) {
    super('ERR_FASTCGI_UNEXPECTED_RECORD', `${peer} sent an unexpected FastCGI record: ${detail}`);
  }
}

/** The first request of a connection lacks the hop secret or carries a wrong one. */
export class FastCgiSecretError extends BridgeError {
  constructor(peer: string, detail: string) {
    super('ERR_FASTCGI_SECRET', `${peer} failed hop authentication: ${detail}`);
  }
}

/** The web server sent FCGI_ABORT_REQUEST, or its connection went away mid-request. */
export class FastCgiRequestAbortedError extends BridgeError {
  constructor(detail: string) {
    super('ERR_FASTCGI_REQUEST_ABORTED', `the web server aborted the request: ${detail}`);
  }
}

// --- FastCGI: what the bridge itself was asked to encode ---

/** A record body over 65535 bytes, which the record header cannot express. */
export class FastCgiRecordTooLargeError extends BridgeError {
  constructor(length: number) {
    super('ERR_FASTCGI_RECORD_TOO_LARGE', `a FastCGI record body of ${length} bytes is over 65535`);
  }
}

/** A response header name or value that would break the CGI header block (CR, LF, colon in a name). */
export class CgiHeaderError extends BridgeError {
  constructor(detail: string) {
    super('ERR_CGI_HEADER', `invalid response header for the CGI header block: ${detail}`, 500);
  }
}

// --- Pipeline: how an App or middleware broke the contract ---

/** A middleware called `next()` a second time. */
export class NextCalledTwiceError extends BridgeError {
  constructor(middleware: string) {
    super('ERR_NEXT_CALLED_TWICE', `middleware '${middleware}' called next() more than once`, 500);
  }
}

/** An App returned its body without calling startResponse first. */
export class ResponseNotStartedError extends BridgeError {
  constructor() {
    super('ERR_RESPONSE_NOT_STARTED', 'the application returned a body without calling startResponse', 500);
  }
}

// --- Upstream (Kallithea): what the forwarder met ---

/** Kallithea could not be reached: connection refused or reset, connect timeout, DNS. */
export class UpstreamUnreachableError extends BridgeError {
  constructor(upstream: string, detail: string) {
    super('ERR_UPSTREAM_UNREACHABLE', `Kallithea at ${upstream} is unreachable: ${detail}`, 502);
  }
}

/**
 * Kallithea could not be reached and has never answered since the bridge started: it is most
 * likely still starting (the DLL starts the bridge and the first requests race Kallithea's
 * own start), so the client is told to retry rather than that the gateway is broken.
 */
export class UpstreamStartingError extends BridgeError {
  readonly retryAfter: number;

  constructor(unreachable: BridgeError, retryAfter: number) {
    super(
      'ERR_UPSTREAM_STARTING',
      `${unreachable.message} (it has not answered since the bridge started: still starting?)`,
      503,
    );
    this.retryAfter = retryAfter;
  }
}

/** Kallithea accepted the request but sent no response headers within headers_timeout. */
export class UpstreamTimeoutError extends BridgeError {
  constructor(upstream: string, seconds: number) {
    super('ERR_UPSTREAM_TIMEOUT', `Kallithea at ${upstream} sent no response within ${seconds} s`, 504);
  }
}

/** Kallithea closed, reset or stalled (body_timeout) mid-response; the response is cut short. */
export class UpstreamBodyError extends BridgeError {
  constructor(upstream: string, detail: string) {
    super('ERR_UPSTREAM_BODY', `Kallithea at ${upstream} failed mid-response: ${detail}`, 502);
  }
}

/** Too many requests already wait for a connection to Kallithea. */
export class UpstreamBusyError extends BridgeError {
  readonly retryAfter: number;

  constructor(waiting: number, retryAfter: number) {
    super('ERR_UPSTREAM_BUSY', `${waiting} requests already wait for Kallithea`, 503);
    this.retryAfter = retryAfter;
  }
}

/**
 * No Kallithea worker is ready to take a request: all of them are starting, restarting after
 * a crash, or stopped by rapid-fail protection (the log says which and why).
 */
export class WorkersUnavailableError extends BridgeError {
  readonly retryAfter: number;

  constructor(detail: string, retryAfter: number) {
    super('ERR_WORKERS_UNAVAILABLE', `no Kallithea worker is ready: ${detail}`, 503);
    this.retryAfter = retryAfter;
  }
}

/** A Kallithea worker process could not be started or did not become ready. */
export class WorkerStartError extends BridgeError {
  constructor(worker: string, detail: string) {
    super('ERR_WORKER_START', `Kallithea worker ${worker} did not start: ${detail}`);
  }
}

/** The client's body did not match its framing (shorter than CONTENT_LENGTH, or cut off). */
export class RequestBodyError extends BridgeError {
  constructor(detail: string) {
    super('ERR_REQUEST_BODY', `the request body was cut short: ${detail}`, 400);
  }
}

/**
 * The client went away (FCGI_ABORT_REQUEST or the web server's connection closed). 499 is
 * nginx's "client closed request": the access log's status, never sent to anyone.
 */
export class ClientAbortedError extends BridgeError {
  constructor() {
    super('ERR_CLIENT_ABORTED', 'the client went away', 499);
  }
}

/**
 * A request the bridge will not forward: a header value with CR, LF or NUL, a method
 * Kallithea cannot be asked (CONNECT, or not a token), an absurd CONTENT_LENGTH, a repeated
 * header that must be single (Host, Content-Length, Authorization).
 */
export class InvalidRequestError extends BridgeError {
  constructor(detail: string) {
    super('ERR_INVALID_REQUEST', `invalid request: ${detail}`, 400);
  }
}

/** The forwarder failed for a reason that is neither the client, the request nor Kallithea. */
export class ForwarderError extends BridgeError {
  constructor(detail: string, cause: unknown) {
    super('ERR_FORWARDER', `the forwarder failed: ${detail}`, 500);
    this.cause = cause;
  }
}

// --- Configuration and listening: defined in lib/config (config must not import the bridge) ---

export { ConfigError, configProblemText, ListenAddressError } from '../config/errors.js';
