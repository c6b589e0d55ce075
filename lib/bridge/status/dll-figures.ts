// The DLL's figures as its param carries them (native/isapi/status/status_figures.cpp): a
// compact JSON object, read here field by field so that a DLL of another version, or a
// damaged value, shows as "not reported" or a parse problem rather than as wrong numbers.
export interface DllFigures {
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly mode: string;
  /** Not counting the status request itself. */
  readonly requestsInFlight: number;
  readonly requestsQueued: number;
  readonly connections: number;
  readonly idleConnections: number;
  readonly maxConnections: number;
  readonly maxQueued: number;
  readonly bridgeState: string;
  readonly bridgeRestarts: number;
  /** The supervisor's last failure line and when it happened (ISO), if any. */
  readonly lastFailure: { readonly message: string; readonly at: string } | null;
}

/** The figures, `undefined` when the request came without them, or the reason they are unreadable. */
export function readDllFigures(param: string | undefined): DllFigures | { problem: string } | undefined {
  if (param === undefined) return undefined;
  let raw: unknown;
  try {
    // Params are latin1 strings (one character per byte); the DLL wrote UTF-8.
    raw = JSON.parse(Buffer.from(param, 'latin1').toString('utf8'));
  } catch (error) {
    return { problem: `the DLL's figures are not JSON: ${(error as Error).message}` };
  }
  if (typeof raw !== 'object' || raw === null) return { problem: "the DLL's figures are not a JSON object" };
  const o = raw as Record<string, unknown>;
  const missing: string[] = [];
  const count = (name: string): number => {
    const value = o[name];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
    missing.push(name);
    return 0;
  };
  const text = (name: string): string => {
    const value = o[name];
    if (typeof value === 'string') return value;
    missing.push(name);
    return '';
  };
  const lastFailureMs = count('last_failure_unix_ms');
  const lastFailure = text('last_failure');
  const figures: DllFigures = {
    version: text('version'),
    uptimeSeconds: count('uptime_ms') / 1000,
    mode: text('mode'),
    requestsInFlight: count('requests_in_flight'),
    requestsQueued: count('requests_queued'),
    connections: count('connections'),
    idleConnections: count('idle_connections'),
    maxConnections: count('max_connections'),
    maxQueued: count('max_queued'),
    bridgeState: text('bridge_state'),
    bridgeRestarts: count('bridge_restarts'),
    lastFailure:
      lastFailure === '' ? null : { message: lastFailure, at: new Date(lastFailureMs).toISOString() },
  };
  if (missing.length > 0) return { problem: `the DLL's figures lack ${missing.join(', ')}` };
  return figures;
}
