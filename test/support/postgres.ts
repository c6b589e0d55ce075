// The PostgreSQL cluster of the Kallithea instance (scripts/kallithea-instance.sh --postgres):
// Debian's PostgreSQL 15 under the postgres user, on a Unix socket in .cache/kallithea/pg/run.
// A test starts it, takes a database of its own copied from the instance's (CREATE DATABASE
// ... TEMPLATE kallithea), drops it after, and stops the cluster if it started it.
import { join } from 'node:path';
import { cachedInstance } from './kallithea.js';
import { run, runOk } from './vcs.js';

const bin = '/usr/lib/postgresql/15/bin';
const pg = join(cachedInstance, 'pg');
export const pgSocketDir = join(pg, 'run');
export const pgPort = Number(process.env.KALLITHEA_PG_PORT ?? '5439');

function asPostgres(tool: string, args: string[]): string[] {
  return ['-u', 'postgres', '--', join(bin, tool), ...args];
}

/** Starts the cluster unless it runs; resolves whether this call started it. */
export async function startCluster(): Promise<boolean> {
  const status = await run('runuser', asPostgres('pg_ctl', ['-D', join(pg, 'data'), 'status']), {
    cwd: pg,
    env: process.env,
  });
  if (status.code === 0) return false;
  await runOk(
    'runuser',
    asPostgres('pg_ctl', [
      '-D',
      join(pg, 'data'),
      '-l',
      join(pg, 'server.log'),
      '-w',
      '-o',
      `-k ${pgSocketDir} -p ${pgPort} -c listen_addresses=''`,
      'start',
    ]),
    { cwd: pg, env: process.env },
  );
  return true;
}

export async function stopCluster(): Promise<void> {
  await runOk('runuser', asPostgres('pg_ctl', ['-D', join(pg, 'data'), '-w', '-m', 'fast', 'stop']), {
    cwd: pg,
    env: process.env,
  });
}

/** Runs SQL as the kallithea role in `database`; resolves psql's unaligned output. */
export async function sql(database: string, statement: string): Promise<string> {
  const result = await runOk(
    join(bin, 'psql'),
    ['-h', pgSocketDir, '-p', String(pgPort), '-U', 'kallithea', '-d', database, '-tA', '-c', statement],
    { cwd: pg, env: process.env },
  );
  return result.stdout.trim();
}

export function databaseUrl(database: string): string {
  return `postgresql://kallithea@/${database}?host=${pgSocketDir}&port=${pgPort}`;
}
