/**
 * A throw-away PostgreSQL 15 for `npm run cluster`: initdb into a directory of its own, a free
 * loopback port, fsync off. As root it runs as the `postgres` user (PostgreSQL refuses root).
 * It is started in a process group of its own so a Ctrl-C in the terminal does not stop it before
 * the coordinators that use it; `stop()` does, last.
 *
 * `startPostgresServer` is the part test/support/postgres.ts (one server per vitest worker) shares.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePort, shellQuote } from './processes.js';

const BIN_DIR = process.env.PG_TEST_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export interface LocalPostgres {
  /** postgres://… of the `kici` database. */
  url: string;
  port: number;
  dataDir: string;
  logFile: string;
  /** A shell line that stops the server at once (for a watchdog). */
  stopShell: string;
  stop(): Promise<void>;
  /** Crash it: `pg_ctl stop -m immediate` (every connection cut, no shutdown checkpoint). */
  crash(): Promise<void>;
  /** Start it again after `crash` on the same port and data; resolves once it accepts connections. */
  restart(): Promise<void>;
}

/** The command line that runs a PostgreSQL program: as the `postgres` user when we are root. */
export function pgCommand(bin: string, args: string[]): [string, string[]] {
  const file = path.join(BIN_DIR, bin);
  return runningAsRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
}

/**
 * Runs a PostgreSQL program to its end; rejects with its output on failure. With `ownProcessGroup`
 * it runs in a process group of its own, out of reach of a Ctrl-C in the terminal.
 */
function runPg(bin: string, args: string[], ownProcessGroup: boolean): Promise<void> {
  const [cmd, argv] = pgCommand(bin, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { detached: ownProcessGroup, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${bin} ${args[0] ?? ''} failed (exit ${code}): ${output.trim()}`))));
  });
}

/** The shell line that stops the server under `dir` at once: for a watchdog, known before it starts. */
export function postgresStopShell(dir: string): string {
  const [cmd, argv] = pgCommand('pg_ctl', ['stop', '-m', 'immediate', '-D', path.join(dir, 'data')]);
  return `${[cmd, ...argv].map(shellQuote).join(' ')} >/dev/null 2>&1`;
}

export interface PostgresServer {
  port: number;
  /** `<dir>/data`. */
  dataDir: string;
  logFile: string;
  /** The `pg_ctl start -o` options it was started with (a restart reuses them). */
  serverOptions: string;
}

export interface PostgresServerOptions {
  /** The server's log (pg_ctl -l). */
  logFile: string;
  /** shared_buffers, say '32MB'. */
  sharedBuffers: string;
  /** Run initdb and pg_ctl (and so the server) in a process group of their own. */
  ownProcessGroup: boolean;
  /**
   * Keep `synchronous_commit` on (off by default, for speed): a commit is in the WAL before it is
   * acknowledged, so a crashed server comes back with every acknowledged commit. fsync stays off:
   * the machine itself does not crash.
   */
  durableCommits?: boolean;
}

/**
 * Starts a PostgreSQL server under `dir` (created, and handed to the postgres user when we are
 * root): initdb into `<dir>/data` (user `postgres`, trust), then pg_ctl start on a free loopback
 * port with its socket in `dir`, fsync off; a port taken between probing and binding is retried.
 */
export async function startPostgresServer(dir: string, opts: PostgresServerOptions): Promise<PostgresServer> {
  for (const bin of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(path.join(BIN_DIR, bin))) {
      throw new Error(`PostgreSQL 15 binaries not found: ${path.join(BIN_DIR, bin)} is missing (apt-get install postgresql-15, or set PG_TEST_BIN_DIR)`);
    }
  }
  mkdirSync(dir, { recursive: true });
  if (runningAsRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const dataDir = path.join(dir, 'data');
  const { logFile, ownProcessGroup } = opts;
  await runPg('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], ownProcessGroup);

  let port = 0;
  let serverOptions = '';
  let lastError: unknown;
  // A free port can be taken between probing and binding; try a few.
  for (let attempt = 0; attempt < 4 && port === 0; attempt++) {
    const candidate = await freePort();
    const options = [
      `-p ${candidate}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      `-c synchronous_commit=${opts.durableCommits ? 'on' : 'off'}`,
      '-c full_page_writes=off',
      '-c max_connections=200',
      `-c shared_buffers=${opts.sharedBuffers}`,
    ].join(' ');
    try {
      await runPg('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', options], ownProcessGroup);
      port = candidate;
      serverOptions = options;
    } catch (e) {
      lastError = e;
    }
  }
  if (port === 0) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
    throw new Error(`could not start PostgreSQL: ${(lastError as Error).message}\n${log}`);
  }
  return { port, dataDir, logFile, serverOptions };
}

/**
 * Starts PostgreSQL under `dir`, in a process group of its own, with a `kici` database
 * (`durableCommits`: see PostgresServerOptions; the chaos harness crashes it and wants every
 * acknowledged commit back).
 */
export async function startLocalPostgres(dir: string, { durableCommits = false }: { durableCommits?: boolean } = {}): Promise<LocalPostgres> {
  const { port, dataDir, logFile, serverOptions } = await startPostgresServer(dir, {
    logFile: path.join(dir, 'postgres.log'),
    sharedBuffers: '32MB',
    ownProcessGroup: true,
    durableCommits,
  });

  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE kici');
  } finally {
    await admin.end();
  }

  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/kici`,
    port,
    dataDir,
    logFile,
    stopShell: postgresStopShell(dir),
    async stop() {
      if (stopped) return;
      stopped = true;
      await runPg('pg_ctl', ['stop', '-m', 'fast', '-w', '-t', '30', '-D', dataDir], true);
    },
    async crash() {
      await runPg('pg_ctl', ['stop', '-m', 'immediate', '-w', '-t', '30', '-D', dataDir], true);
    },
    async restart() {
      await runPg('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', serverOptions], true);
    },
  };
}
