/**
 * A pooled connection that dies while it is checked out — PostgreSQL restarted under a transaction
 * — must fail that transaction and nothing more: pg emits 'error' on the client, which pg-pool
 * listens for only while the client is idle, so without a listener of ours the process would end
 * (the chaos harness's PostgreSQL crash found it). Here the transaction's own backend is terminated
 * from inside it, which is what a server restart does to every connection at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { freshDatabaseUrl } from '../../support/postgres.js';

describe('a pooled connection lost while in use', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kici-connection-lost-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('fails its transaction, is reported, and the pool goes on with a new connection', async () => {
    const reported: string[] = [];
    const store = await openStore({ url: await freshDatabaseUrl(), dataDir, poolSize: 1, onConnectionError: (e) => reported.push(e.message) });
    try {
      const db = queryBuilderOf(store);
      const outcome = await db
        .transaction()
        .execute(async (tx) => {
          await sql`select pg_terminate_backend(pg_backend_pid())`.execute(tx);
        })
        .then(
          () => 'committed',
          (e: Error) => e.message,
        );
      expect(outcome).not.toBe('committed');
      // The client's 'error' came and went: the listener took it (an unheard one ends the process).
      await expect.poll(() => reported.length).toBeGreaterThan(0);
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await store.close();
    }
  });
});
