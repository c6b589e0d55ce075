// One status snapshot: the DLL's figures (from its param) and the bridge's own, as one plain
// object. It is the JSON form of the page as it is, and the HTML, text and Prometheus forms
// are rendered from it, so the four cannot disagree. Nothing secret is in it: no FastCGI
// secret, no header names, no addresses of the private sockets; free text that comes from
// elsewhere (a failure line, a worker's last words) has URL passwords and password=/secret=
// values masked, since a Python traceback may quote a database URL.
import type { UpstreamFigures } from '../forwarder/upstreams.js';
import type { WorkerState, WorkerStatus } from '../workers/worker-pool.js';
import type { DllFigures } from './dll-figures.js';
import type { RequestTally } from './request-tally.js';

/** What the bridge hands the status page to read its figures from. */
export interface StatusSources {
  /** The package's version. */
  readonly version: string;
  /** Date.now() when the bridge started. */
  readonly startedAt: number;
  readonly tally: RequestTally;
  readonly upstream: () => UpstreamFigures;
  /** Where requests go: 'workers' (the bridge runs Kallithea), or Kallithea's origin. */
  readonly kallithea: string;
  /** The workers' states; empty when Kallithea is external. */
  readonly workers: () => WorkerStatus[];
}

export interface WorkerSnapshot {
  readonly name: string;
  readonly state: WorkerState;
  readonly pid: number | null;
  readonly busy: boolean;
  /** Started beyond `workers` while hg/git streams held workers; stopped when idle. */
  readonly extra: boolean;
  readonly restarts: number;
  readonly lastFailure: string | null;
}

export interface StatusSnapshot {
  readonly generatedAt: string;
  /** null: the request came without them (not through the DLL, or an older DLL). */
  readonly dll: DllFigures | null;
  /** Why the DLL's figures could not be read, when they came but were unreadable. */
  readonly dllProblem: string | null;
  readonly bridge: {
    readonly version: string;
    readonly node: string;
    readonly pid: number;
    readonly uptimeSeconds: number;
    /** Not counting the status request itself. */
    readonly requestsInFlight: number;
    /** Responses since the bridge started, by status code (499: the client went away). */
    readonly responsesByStatus: Record<string, number>;
    /** Of them, the ones of 400 and above. */
    readonly errorsByStatus: Record<string, number>;
    readonly kallithea: string;
    readonly upstream: UpstreamFigures;
    readonly workers: WorkerSnapshot[];
  };
}

/** Masks the password of a URL's user info and the value of password=/secret=/token= pairs. */
export function maskSecrets(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@/\s]*@/gi, '$1***@')
    .replace(
      /\b(password|passwd|pwd|secret|token|api_key)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi,
      '$1$2***',
    );
}

export function takeSnapshot(
  sources: StatusSources,
  dll: DllFigures | { problem: string } | undefined,
): StatusSnapshot {
  const now = Date.now();
  const responsesByStatus: Record<string, number> = {};
  const errorsByStatus: Record<string, number> = {};
  for (const [status, count] of sources.tally.byStatus()) {
    responsesByStatus[status] = count;
    if (status >= 400) errorsByStatus[status] = count;
  }
  const dllFigures =
    dll === undefined || 'problem' in dll
      ? null
      : {
          ...dll,
          lastFailure:
            dll.lastFailure === null
              ? null
              : { ...dll.lastFailure, message: maskSecrets(dll.lastFailure.message) },
        };
  return {
    generatedAt: new Date(now).toISOString(),
    dll: dllFigures,
    dllProblem: dll !== undefined && 'problem' in dll ? dll.problem : null,
    bridge: {
      version: sources.version,
      node: process.version,
      pid: process.pid,
      uptimeSeconds: Math.round((now - sources.startedAt) / 1000),
      // The status request is in flight too (the access log counted it): not shown.
      requestsInFlight: Math.max(0, sources.tally.inFlight - 1),
      responsesByStatus,
      errorsByStatus,
      kallithea: sources.kallithea,
      upstream: sources.upstream(),
      workers: sources.workers().map((worker) => ({
        name: worker.name,
        state: worker.state,
        pid: worker.pid ?? null,
        busy: worker.busy,
        extra: worker.extra,
        restarts: worker.restarts,
        lastFailure: worker.lastFailure === undefined ? null : maskSecrets(worker.lastFailure),
      })),
    },
  };
}
