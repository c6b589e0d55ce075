// `check` in worker mode ([bridge] python): starts the pool the bridge would start, with
// rapid-fail protection at the first failure, and reports each worker as it ends up, ready
// (with its pid and private address) or failed (with the worker's last words); then stops it.
import { WorkerPool } from '../bridge/workers/worker-pool.js';
import type { BridgeSettings } from '../config/bridge-section.js';

export interface WorkerCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export async function checkWorkers(
  settings: BridgeSettings,
  config: string,
  python: string,
): Promise<WorkerCheck[]> {
  const pool = await WorkerPool.start({
    python,
    config,
    workers: settings.workers,
    startTimeout: settings.workerStartTimeout,
    rapidFailsPerMinute: 1,
    maxQueued: 0,
    timeouts: settings,
    log: () => undefined,
    output: () => undefined,
  });
  try {
    for (;;) {
      const status = pool.status();
      if (status.every((worker) => worker.state === 'ready' || worker.state === 'failed')) {
        return status.map((worker) => ({
          name: `worker ${worker.name}`,
          ok: worker.state === 'ready',
          detail:
            worker.state === 'ready'
              ? `Kallithea answers on ${worker.address} (pid ${worker.pid}, ${python})`
              : `${worker.lastFailure ?? 'failed'}; run '${python} -m pip check' and see my.ini's [app:main]`,
        }));
      }
      await new Promise((done) => setTimeout(done, 100));
    }
  } finally {
    await pool.stop();
  }
}
