// The status snapshot in the Prometheus text exposition format, through prom-client. A fresh
// registry per scrape, filled from the snapshot: the figures are read at one moment, and two
// scrapes at once cannot mix their values. The bridge process's own metrics (CPU, memory,
// event loop lag, handles) come from prom-client's default collectors in one registry per
// process, made at the first scrape (its collectors keep a timer), merged in.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { WorkerState } from '../workers/worker-pool.js';
import type { StatusSnapshot } from './snapshot.js';

const PREFIX = 'kallithea_isapi_';
const BRIDGE_STATES = ['starting', 'ready', 'restarting', 'failed', 'stopped'];
const WORKER_STATES: WorkerState[] = ['starting', 'ready', 'backoff', 'failed', 'stopping', 'stopped'];

let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: `${PREFIX}bridge_` });
  }
  return processRegistry;
}

export async function prometheusText(s: StatusSnapshot): Promise<{ text: string; contentType: string }> {
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string, value: number, labels: Record<string, string> = {}): void => {
    new Gauge({ name: PREFIX + name, help, labelNames: Object.keys(labels), registers }).set(labels, value);
  };
  const counter = (name: string, help: string, value: number): void => {
    new Counter({ name: PREFIX + name, help, registers }).inc(value);
  };

  const dll = s.dll;
  gauge(
    'dll_up',
    'The DLL reported its figures with this scrape (0: not through the DLL)',
    dll === null ? 0 : 1,
  );
  if (dll !== null) {
    gauge('dll_info', 'The DLL, by version and mode', 1, { version: dll.version, mode: dll.mode });
    gauge('dll_uptime_seconds', 'Seconds since the DLL started', dll.uptimeSeconds);
    gauge(
      'dll_requests_in_flight',
      'Requests the DLL is serving, not counting the scrape',
      dll.requestsInFlight,
    );
    gauge('dll_requests_queued', 'Requests waiting for a bridge connection', dll.requestsQueued);
    gauge('dll_connections', 'Pooled FastCGI connections to the bridge, open', dll.connections);
    gauge('dll_idle_connections', 'Pooled FastCGI connections to the bridge, idle', dll.idleConnections);
    gauge('dll_max_connections', 'max_connections of [isapi]', dll.maxConnections);
    const state = new Gauge({
      name: `${PREFIX}dll_bridge_state`,
      help: 'The bridge as the DLL sees it: 1 for the current state',
      labelNames: ['state'],
      registers,
    });
    for (const name of BRIDGE_STATES) state.set({ state: name }, dll.bridgeState === name ? 1 : 0);
    counter(
      'dll_bridge_restarts_total',
      'Bridge launches after an exit or a failed start',
      dll.bridgeRestarts,
    );
    gauge(
      'dll_last_failure_timestamp_seconds',
      "Unix time of the supervisor's last failure (0: none)",
      dll.lastFailure === null ? 0 : Date.parse(dll.lastFailure.at) / 1000,
    );
  }

  const b = s.bridge;
  gauge('bridge_info', 'The bridge host, by version and Node.js version', 1, {
    version: b.version,
    node: b.node,
  });
  gauge('bridge_uptime_seconds', 'Seconds since the bridge started', b.uptimeSeconds);
  gauge(
    'bridge_requests_in_flight',
    'Requests the bridge is serving, not counting the scrape',
    b.requestsInFlight,
  );
  const responses = new Counter({
    name: `${PREFIX}bridge_responses_total`,
    help: 'Responses since the bridge started, by status (499: the client went away)',
    labelNames: ['status'],
    registers,
  });
  for (const [status, count] of Object.entries(b.responsesByStatus)) responses.inc({ status }, count);
  gauge(
    'upstream_requests_in_flight',
    'Requests holding a connection or worker to Kallithea',
    b.upstream.inFlight,
  );
  gauge('upstream_requests_queued', 'Requests waiting for a connection or worker', b.upstream.queued);
  gauge(
    'upstream_connections',
    'Open connections to Kallithea (with workers: ready workers)',
    b.upstream.connections,
  );
  gauge('upstream_idle_connections', 'Of them, idle', b.upstream.idleConnections);
  gauge(
    'upstream_max_connections',
    'The most connections (or workers) there may be',
    b.upstream.maxConnections,
  );
  if (b.workers.length > 0) {
    const labels = { labelNames: ['worker'], registers };
    const state = new Gauge({
      name: `${PREFIX}worker_state`,
      help: 'Each Kallithea worker: 1 for its current state',
      labelNames: ['worker', 'state'],
      registers,
    });
    const busy = new Gauge({
      name: `${PREFIX}worker_busy`,
      help: 'The worker is serving a request',
      ...labels,
    });
    const restarts = new Counter({
      name: `${PREFIX}worker_restarts_total`,
      help: 'Restarts of the worker',
      ...labels,
    });
    for (const w of b.workers) {
      for (const name of WORKER_STATES) state.set({ worker: w.name, state: name }, w.state === name ? 1 : 0);
      busy.set({ worker: w.name }, w.busy ? 1 : 0);
      restarts.inc({ worker: w.name }, w.restarts);
    }
  }
  const merged = Registry.merge([registry, processMetrics()]);
  return { text: await merged.metrics(), contentType: registry.contentType };
}
