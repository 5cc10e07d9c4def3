/**
 * One Kysely instance over either driver: a real PostgreSQL (`pg` pool) when a URL is given, or
 * the embedded PGlite under `<dataDir>/pglite` otherwise. Every query in this room is written once,
 * in the PostgreSQL 15 subset both understand. Private to the store: other rooms get a Store.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { type Listen, pgliteListen, postgresListen } from './notifications.js';
import { acquirePgliteLock } from './pglite-lock.js';
import type { StoreSchema } from './schema.js';
import { prepareStatements } from './prepared-statements.js';
import { StatementCounter } from './statement-counter.js';

export type Db = Kysely<StoreSchema>;
export type DatabaseDriver = 'postgres' | 'pglite';

export interface OpenedDatabase {
  readonly db: Db;
  readonly driver: DatabaseDriver;
  /** LISTEN on a channel: a dedicated, reconnecting connection on PostgreSQL, in-process on PGlite. */
  readonly listen: Listen;
  /**
   * Statements and round trips sent through `db` since it opened, counted at the driver (the
   * LISTEN connection of PostgreSQL is not counted: it carries no query of the hot path).
   */
  readonly statements: StatementCounter;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** `postgres://…`; absent means the embedded PGlite. */
  url?: string;
  /** The node's data directory (PGlite files and its lock live here). */
  dataDir: string;
  /** Pool size for PostgreSQL (default 10). */
  poolSize?: number;
  /** Prepare parameterised statements once per connection (default true; off behind a pooler that cannot keep them). */
  prepare?: boolean;
  /** Errors of pooled connections, idle or in use (e.g. the server restarted); they must not crash the process. */
  onConnectionError?: (error: Error) => void;
}

/** How long a pooled connection may sit idle before it is closed. */
const IDLE_CONNECTION_MS = 5 * 60_000;

export async function openDatabase(options: OpenDatabaseOptions): Promise<OpenedDatabase> {
  if (options.url) return openPostgres(options.url, options);
  return openPglite(options.dataDir);
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<OpenedDatabase> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    // Never echo the URL: it may carry a password.
    throw new Error('database URL must start with postgres:// or postgresql://');
  }
  // A connection stays open for minutes once made (pg's default closes it after 10 s idle): a new
  // PostgreSQL backend costs a process fork and a cold catalog cache, and takes this connection's
  // prepared statements with it, so a bursty load would pay both again after every lull.
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, idleTimeoutMillis: IDLE_CONNECTION_MS });
  // pg-pool listens for a client's 'error' only while it is idle; a connection that dies while
  // checked out (PostgreSQL restarted under a query or a transaction) emits 'error' with no one
  // listening, which would end the process. The query in flight is rejected on its own and the
  // pool drops the dead client when it comes back, so this listener only reports it, idle or lent.
  pool.on('connect', (client) => client.on('error', (error) => options.onConnectionError?.(error)));
  // The pool re-emits an idle client's error, already reported above; unheard, it would throw.
  pool.on('error', () => undefined);
  if (options.prepare !== false) prepareStatements(pool);
  const statements = new StatementCounter();
  statements.instrumentPool(pool);
  const db = new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) });
  try {
    // Fail at start with a readable message rather than on the first webhook.
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot connect to PostgreSQL at ${describeUrl(url)}: ${reason}`, { cause: error });
  }
  const listeners = trackListeners(postgresListen(url));
  return {
    db,
    driver: 'postgres',
    listen: listeners.listen,
    statements,
    async close() {
      await listeners.stopAll();
      await db.destroy();
    },
  };
}

/** Listeners still running when the store closes are stopped with it (no stray connection or timer). */
function trackListeners(listen: Listen): { listen: Listen; stopAll(): Promise<void> } {
  const running = new Set<() => Promise<void>>();
  return {
    async listen(channel, handlers, options) {
      const stop = await listen(channel, handlers, options);
      const once = async () => {
        if (!running.delete(once)) return;
        await stop();
      };
      running.add(once);
      return once;
    },
    async stopAll() {
      await Promise.all([...running].map((stop) => stop()));
    },
  };
}

/** host:port/database, without user or password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

async function openPglite(dataDir: string): Promise<OpenedDatabase> {
  mkdirSync(dataDir, { recursive: true });
  const lock = acquirePgliteLock(dataDir);
  try {
    const pglite = new PGlite(join(dataDir, 'pglite'));
    await pglite.waitReady;
    const statements = new StatementCounter();
    statements.instrumentPglite(pglite);
    const db = new Kysely<StoreSchema>({ dialect: new PGliteDialect({ pglite }) });
    const listeners = trackListeners(pgliteListen(pglite));
    let closed = false;
    return {
      db,
      driver: 'pglite',
      listen: listeners.listen,
      statements,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await listeners.stopAll();
          await db.destroy();
          if (!pglite.closed) await pglite.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}
