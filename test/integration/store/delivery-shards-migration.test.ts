/**
 * Migration 008: deliveries recorded before deliveries carried a shard get theirs, the same
 * `deliveryShard` a new row is recorded with, across more rows than one batch of the fill.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { deliveryShard, openStore, type DatabaseDriver, type Store } from '../../../src/store/index.js';
import { migrationProvider, queryBuilderOf } from '../../../src/store/testing.js';
import { DRIVERS } from '../../support/store-drivers.js';
import { freshDatabaseUrl } from '../../support/postgres.js';

const BEFORE = '007_blobs';
const ROWS = 2_345;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function openAt(driver: DatabaseDriver, migration: string): Promise<Store> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kici-migrate-008-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const store = await openStore({ url: driver === 'postgres' ? await freshDatabaseUrl() : undefined, dataDir });
  cleanups.push(() => store.close());
  const { Migrator } = await import('kysely/migration');
  const result = await new Migrator({ db: queryBuilderOf(store), provider: migrationProvider }).migrateTo(migration);
  if (result.error) throw result.error;
  return store;
}

for (const driver of DRIVERS) {
  describe(`migration 008 [${driver}]`, () => {
    it('gives every delivery recorded before it the shard of its id', async () => {
      const store = await openAt(driver, BEFORE);
      const db = queryBuilderOf(store);
      await sql`
        INSERT INTO deliveries (org_id, delivery_id, source_id, source_kind, event_type, status, body, payload_hash, payload_size)
        SELECT 'org_' || (g % 3), 'delivery-' || g, 'src', 'generic', 'push',
               CASE WHEN g % 2 = 0 THEN 'received' ELSE 'processed' END, '\\x00'::bytea, 'h', 1
        FROM generate_series(1, ${ROWS}) AS g`.execute(db);

      expect(await store.migrations.migrate()).toContain('008_delivery_shards');

      const { rows } = await sql<{ delivery_id: string; shard: number }>`SELECT delivery_id, shard FROM deliveries`.execute(db);
      expect(rows).toHaveLength(ROWS);
      expect(rows.filter((r) => r.shard !== deliveryShard(r.delivery_id))).toEqual([]);
      // The owner's query finds them by shard.
      const shard = deliveryShard('delivery-2');
      const received = await store.deliveries.listReceived({ shards: [shard], limit: ROWS });
      expect(received.map((d) => d.deliveryId)).toContain('delivery-2');
      expect(received.every((d) => d.shard === shard && d.status === 'received')).toBe(true);
    });

    it('refuses a shard out of range, and goes down again', async () => {
      const store = await openAt(driver, '008_delivery_shards');
      const db = queryBuilderOf(store);
      await expect(
        sql`INSERT INTO deliveries (org_id, delivery_id, source_id, source_kind, event_type, status, body, payload_hash, payload_size, shard)
            VALUES ('o', 'd', 's', 'generic', 'push', 'received', '\\x00'::bytea, 'h', 1, 256)`.execute(db),
      ).rejects.toThrow(/deliveries_shard_range/);
      const { Migrator } = await import('kysely/migration');
      const down = await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE);
      expect(down.error).toBeUndefined();
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'deliveries' AND column_name = 'shard'`.execute(db);
      expect(rows[0]?.n).toBe(0);
    });
  });
}
