/**
 * A throw-away PostgreSQL 15 for integration tests.
 *
 * One server per vitest worker process (a module-level promise), one fresh database per caller of
 * `createDatabase()`. The server lives in a temp directory that is removed when the process exits;
 * a small watchdog shell also stops it if the worker dies without running exit hooks (kill -9), so
 * a CI machine is never left with a stray postmaster.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** URL of the server's `postgres` database. */
  url: string;
  /** Create a fresh, empty database and return its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

const BIN_DIR = process.env.PG_TEST_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

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

function requireBinaries(): void {
  for (const bin of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(BIN_DIR, bin))) {
      throw new Error(
        `PostgreSQL 15 binaries not found: ${join(BIN_DIR, bin)} is missing. ` +
          'Install postgresql-15 (Debian/Ubuntu: apt-get install postgresql-15) or set PG_TEST_BIN_DIR.',
      );
    }
  }
}

const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** PostgreSQL refuses to run as root, so hand the work to the `postgres` user when we are root. */
function pgCommand(bin: string, args: string[]): [string, string[]] {
  const path = join(BIN_DIR, bin);
  return runningAsRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

function runPg(bin: string, args: string[]): void {
  const [cmd, argv] = pgCommand(bin, args);
  const result = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${bin} failed (exit ${result.status}): ${result.stderr || result.stdout}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kici-pg-'));
  if (runningAsRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  return dir;
}

async function startPostgres(): Promise<TestPostgres> {
  requireBinaries();
  const dir = makeTempDir();
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  runPg('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);

  let port = 0;
  let lastError: unknown;
  // A free port can be taken between probing and binding; retry a few times.
  for (let attempt = 0; attempt < 4 && port === 0; attempt++) {
    const candidate = await freePort();
    const options = [
      `-p ${candidate}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
      '-c shared_buffers=16MB',
    ].join(' ');
    try {
      runPg('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', options]);
      port = candidate;
    } catch (error) {
      lastError = error;
    }
  }
  if (port === 0) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start the test PostgreSQL: ${String(lastError)}\n${log}`);
  }

  const stopSync = registerCleanup(dir, dataDir);
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
 * Stop the server and delete its directory when this process exits, and start a watchdog that does
 * the same if the process is killed without running exit handlers.
 */
function registerCleanup(dir: string, dataDir: string): () => void {
  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    const [cmd, argv] = pgCommand('pg_ctl', ['stop', '-m', 'immediate', '-w', '-D', dataDir]);
    spawnSync(cmd, argv, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);

  const [cmd, argv] = pgCommand('pg_ctl', ['stop', '-m', 'immediate', '-D', dataDir]);
  const stopLine = [cmd, ...argv].map(shellQuote).join(' ');
  const script =
    `while kill -0 ${process.pid} 2>/dev/null && [ -d ${shellQuote(dataDir)} ]; do sleep 1; done; ` +
    `if [ -d ${shellQuote(dataDir)} ]; then ${stopLine} >/dev/null 2>&1; rm -rf ${shellQuote(dir)}; fi`;
  const watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  return stopSync;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
