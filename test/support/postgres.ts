/**
 * A throw-away PostgreSQL 15 for integration tests.
 *
 * One server per vitest worker process (a module-level promise), one fresh database per caller of
 * `createDatabase()`. The server lives in a temp directory that is removed when the process exits;
 * a small watchdog shell also stops it if the worker dies without running exit hooks (kill -9), so
 * a CI machine is never left with a stray postmaster. Starting the server (initdb, pg_ctl) is
 * cluster/postgres.ts's `startPostgresServer`, the one `npm run cluster` uses.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pgCommand, postgresStopShell, startPostgresServer } from '../../cluster/postgres.js';
import { shellQuote, startWatchdog } from '../../cluster/processes.js';

export interface TestPostgres {
  /** URL of the server's `postgres` database. */
  url: string;
  /** Create a fresh, empty database and return its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

let shared: Promise<TestPostgres> | undefined;
let dbCounter = 0;

/** The worker's shared server, started on first use. */
export function testPostgres(): Promise<TestPostgres> {
  shared ??= startPostgres();
  return shared;
}

/** Shortcut: a fresh database on the worker's shared server. */
export async function freshDatabaseUrl(name?: string): Promise<string> {
  return (await testPostgres()).createDatabase(name);
}

async function startPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'kici-pg-'));
  // Armed before initdb: a worker that dies while the server is starting leaves nothing behind either.
  const stopSync = registerCleanup(dir);
  let port: number;
  try {
    // initdb and pg_ctl stay in the worker's process group; the exit hook and the watchdog stop the server.
    ({ port } = await startPostgresServer(dir, { logFile: join(dir, 'server.log'), sharedBuffers: '16MB', ownProcessGroup: false }));
  } catch (error) {
    stopSync();
    throw error;
  }

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    async createDatabase(name?: string) {
      dbCounter += 1;
      const dbName = name ?? `kici_test_${process.pid}_${dbCounter}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(dbName)) throw new Error(`invalid test database name: ${dbName}`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${dbName}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${dbName}`;
    },
    async stop() {
      stopSync();
      shared = undefined;
    },
  };
}

/**
 * Stop the server under `dir` and delete the directory when this process exits, and start a
 * watchdog that does the same if the process is killed without running exit handlers.
 */
function registerCleanup(dir: string): () => void {
  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    const [cmd, argv] = pgCommand('pg_ctl', ['stop', '-m', 'immediate', '-w', '-D', join(dir, 'data')]);
    spawnSync(cmd, argv, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  startWatchdog(`[ -d ${shellQuote(dir)} ]`, `${postgresStopShell(dir)}; rm -rf ${shellQuote(dir)}`);
  return stopSync;
}
