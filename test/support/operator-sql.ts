/**
 * A store as an operator's SQL reaches it: statements sent as text, the way `psql` would, through
 * a `pg` client on PostgreSQL and through the store's own connection on PGlite (one process holds
 * it). For tests that hold the SQL the docs give operators to its word.
 */
import { rmSync } from 'node:fs';
import { sql } from 'kysely';
import pg from 'pg';
import type { DatabaseDriver, Store } from '../../src/store/index.js';
import { queryBuilderOf } from '../../src/store/testing.js';
import { openTestStore } from './store-drivers.js';

export type OperatorRow = Record<string, unknown>;

export interface OperatorDatabase {
  store: Store;
  /** One statement as an operator sends it; its rows. */
  run(statement: string): Promise<OperatorRow[]>;
  close(): Promise<void>;
}

export async function openOperatorDatabase(driver: DatabaseDriver): Promise<OperatorDatabase> {
  const { store, dataDir, url } = await openTestStore(driver);
  let client: pg.Client | undefined;
  if (url) {
    client = new pg.Client({ connectionString: url });
    await client.connect();
  }
  return {
    store,
    async run(statement) {
      if (client) return (await client.query(statement)).rows as OperatorRow[];
      return (await sql.raw(statement).execute(queryBuilderOf(store))).rows as OperatorRow[];
    },
    async close() {
      await client?.end();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
