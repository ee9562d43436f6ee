/**
 * A throwaway PostgreSQL cluster for tests: initdb in a temp dir, pg_ctl
 * start on a Unix socket in that dir (no TCP port to race for), stop and
 * delete afterwards.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: the cluster then
 * runs as the `postgres` user Debian's package creates (or `nobody`), in a
 * dir that user owns. Where PostgreSQL is not installed the tests skip,
 * except under CI=true, where a missing PostgreSQL is a failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

export interface TestPostgres {
  /** PG* variables that reach the cluster, for `facerec ingest --query` and for pg.Client. */
  readonly env: Readonly<Record<'PGHOST' | 'PGPORT' | 'PGUSER' | 'PGDATABASE', string>>;
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

/** The bin dir holding initdb and pg_ctl: Debian keeps them out of PATH, in /usr/lib/postgresql/<version>/bin. */
function postgresBinDir(): string | undefined {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => existsSync(join(debian, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debian, versions[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return found.status === 0 ? join(found.stdout.trim(), '..') : undefined;
}

/** uid/gid to run the server as: ourselves, unless we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      // try the next user
    }
  }
  throw new Error('running as root and no postgres or nobody user to run PostgreSQL as');
}

/** Why the PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresMissing(): string | undefined {
  return postgresBinDir() ? undefined : 'PostgreSQL (initdb, pg_ctl) is not installed; `apt-get install postgresql` runs these tests';
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(postgresMissing());
  const user = runAs();
  const dir = await mkdtemp(join(tmpdir(), 'facerec-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const run = (tool: string, args: string[]) => {
    const result = spawnSync(join(bin, tool), args, { encoding: 'utf8', ...(user ?? {}), cwd: dir });
    if (result.status !== 0) throw new Error(`${tool} failed: ${result.stderr || result.stdout}`);
  };
  // trust on a socket only this dir's owner can reach: no password to manage, nothing listening on TCP.
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'facerec', '--no-sync', '-E', 'UTF8']);
  run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o', `-k ${dir} -c listen_addresses='' -p 5432 -F`, 'start']);
  const env = { PGHOST: dir, PGPORT: '5432', PGUSER: 'facerec', PGDATABASE: 'postgres' };
  const client = new pg.Client({ host: dir, port: 5432, user: 'facerec', database: 'postgres' });
  await client.connect();
  return {
    env,
    query: (sql, params) => client.query(sql, params),
    async stop() {
      await client.end().catch(() => {});
      run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
