// Runs a Python probe in the cached instance's venv, with the project's python/ folder as
// its argv[1] (where it imports kallithea_worker from): the worker's patches tested against
// the real Kallithea and waitress classes, without a running instance.
import { join } from 'node:path';
import { repoRoot, venvPython } from '../../support/kallithea-parts.js';
import { runOk } from '../../support/vcs.js';

/** The probe's output, a line each. */
export async function runWorkerProbe(source: string): Promise<string[]> {
  const result = await runOk(venvPython, ['-c', source, join(repoRoot, 'python')], {
    cwd: repoRoot,
    // The worker refuses to start without the bridge's token; the probe starts no worker.
    env: { ...process.env, KALLITHEA_ISAPI_WORKER_TOKEN: '' },
  });
  return result.stdout.trim().split('\n');
}
