// Kallithea's state across the bridge's workers on SQLite (the shared fixture's instance):
// sessions, changes seen by every worker, concurrent pushes, a killed clone. The scenarios are in
// support/state-scenarios.ts; worker-pool-postgres.test.ts runs them on PostgreSQL.
import { join } from 'node:path';
import { kallithea, outDir } from '../support/kallithea.js';
import { stateScenarios } from './support/state-scenarios.js';

describe('Kallithea on SQLite: state across the workers', function () {
  this.timeout(600_000);
  stateScenarios(() => {
    const k = kallithea();
    return {
      url: k.root.url,
      served: k.root,
      reposDir: k.reposDir,
      accessLog: join(outDir, 'dll-root.log'),
      logs: [join(outDir, 'dll-root.log'), join(outDir, 'direct.log')],
      apiKey: k.apiKey,
      api: k.api,
      createRepo: k.createRepo,
    };
  });
});
