// `check` in worker mode ([bridge] python): starts the pool the bridge would start, with
// rapid-fail protection at the first failure, and reports each worker as it ends up, ready
// (with its pid and private address) or failed (with the worker's last words); then stops it.
// The extra workers the bridge starts while clones hold workers exist only under load: the
// report says how many there may be, and the bridge's log names each one it starts and stops.
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
    maxWorkers: settings.workers,
    idleTimeout: settings.workerIdleTimeout,
    lowerStreamPriority: false,
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
        const extras = settings.maxWorkers - settings.workers;
        const pool: WorkerCheck = {
          name: 'worker pool',
          ok: true,
          detail:
            extras > 0
              ? `${settings.workers} workers, up to ${settings.maxWorkers} (max_workers) while hg/git ` +
                `clones and pushes hold workers; an extra one stops after ${settings.workerIdleTimeout} s idle`
              : `${settings.workers} workers, no extra ones (max_workers = workers): clones beyond ` +
                `${Math.max(1, settings.workers - 1)} at once wait, pages keep one worker`,
        };
        return [
          pool,
          ...status.map((worker) => ({
            name: `worker ${worker.name}`,
            ok: worker.state === 'ready',
            detail:
              worker.state === 'ready'
                ? `Kallithea answers on ${worker.address} (pid ${worker.pid}, ${python})`
                : `${worker.lastFailure ?? 'failed'}; run '${python} -m pip check' and see my.ini's [app:main]`,
          })),
        ];
      }
      await new Promise((done) => setTimeout(done, 100));
    }
  } finally {
    await pool.stop();
  }
}
