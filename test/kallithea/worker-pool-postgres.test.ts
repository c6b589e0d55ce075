// The worker-pool state scenarios (support/state-scenarios.ts) on PostgreSQL: the instance
// script's PostgreSQL-backed instance (my-pg.ini), a database of this run's own copied from
// it, its repositories copied, and `kallithea-isapi serve --workers 2` on it.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cachedInstance,
  freePort,
  repoRoot,
  spawnServeProcess,
  windowsUsersFile,
  type ExtraServe,
} from '../support/kallithea.js';
import { databaseUrl, sql, startCluster, stopCluster } from '../support/postgres.js';
import { runOk } from '../support/vcs.js';
import { notWindows, stateScenarios, type StateTarget } from './support/state-scenarios.js';

describe('Kallithea on PostgreSQL: state across the workers', function () {
  this.timeout(600_000);
  let startedCluster = false;
  let database = '';
  let dir = '';
  let serve: ExtraServe | undefined;
  let target: StateTarget | undefined;

  before(async function () {
    await runOk('bash', [join(repoRoot, 'scripts', 'kallithea-instance.sh'), '--postgres'], {
      cwd: repoRoot,
      env: process.env,
    });
    startedCluster = await startCluster();
    database = `kallithea_test_${randomBytes(4).toString('hex')}`;
    await sql('postgres', `CREATE DATABASE ${database} TEMPLATE kallithea`);
    dir = await mkdtemp(join(tmpdir(), 'kallithea-pg-test-'));
    await cp(join(cachedInstance, 'repos-pg'), join(dir, 'repos'), { recursive: true });
    await sql(
      database,
      `UPDATE ui SET ui_value = '${join(dir, 'repos')}' WHERE ui_section = 'paths' AND ui_key = '/'`,
    );
    const text = await readFile(join(cachedInstance, 'my-pg.ini'), 'utf8');
    const config = join(dir, 'my.ini');
    await writeFile(
      config,
      text
        .replace(/^port = \d+$/m, `port = ${await freePort()}`)
        .replace(/^sqlalchemy\.url = .*$/m, `sqlalchemy.url = ${databaseUrl(database)}`),
    );
    const dllLog = join(dir, 'dll.log');
    serve = spawnServeProcess(config, [
      '--users',
      windowsUsersFile,
      '--workers',
      '2',
      '--worker-idle-timeout',
      '2',
      '--dll-log',
      dllLog,
    ]);
    const url = await serve.ready;
    assert.ok(url !== undefined, serve.stderr().slice(-2000));
    const apiKey = await sql(database, "SELECT api_key FROM users WHERE username = 'admin'");
    // The API through the path: the credentials are no Windows login, the key decides.
    const api = async (method: string, args: Record<string, unknown>): Promise<unknown> => {
      const response = await fetch(new URL('_admin/api', url), {
        method: 'POST',
        headers: { ...notWindows, 'Content-Type': 'application/json' },
        body: JSON.stringify({ id: 1, api_key: apiKey, method, args }),
      });
      const answer = (await response.json()) as { result: unknown; error: unknown };
      if (answer.error !== null) throw new Error(`API ${method}: ${JSON.stringify(answer.error)}`);
      return answer.result;
    };
    const served = serve;
    target = {
      url,
      served,
      reposDir: join(dir, 'repos'),
      accessLog: dllLog,
      logs: [dllLog],
      apiKey,
      api,
      async createRepo(name, type) {
        await api('create_repo', { repo_name: name, repo_type: type });
        await api('grant_user_permission', { repoid: name, userid: 'bob', perm: 'repository.write' });
        await api('grant_user_permission', { repoid: name, userid: 'carol', perm: 'repository.read' });
      },
    };
    // Until a worker is ready the bridge answers 503.
    for (let i = 0; i < 600; i++) {
      const answer = await fetch(url, { headers: notWindows, redirect: 'manual' });
      await answer.arrayBuffer();
      if (answer.status !== 503) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    await api('delete_user', { userid: 'alice' }).catch(() => undefined);
  });
  after(async function () {
    this.timeout(120_000);
    if (serve !== undefined && serve.serve.exitCode === null) {
      serve.serve.kill('SIGTERM');
      await serve.exited;
    }
    if (database !== '') await sql('postgres', `DROP DATABASE IF EXISTS ${database}`);
    if (startedCluster) await stopCluster();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  stateScenarios(() => {
    assert.ok(target !== undefined, 'the PostgreSQL instance did not start');
    return target;
  });
});
