/**
 * Migration 010: agent tokens gain a slot cap. Tokens made before it keep working with the default
 * cap (null), a cap outside 1..10000 is refused, and the migration goes down again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { issueAgentToken } from '../../../src/secrets/index.js';
import { openStore, type DatabaseDriver, type Store } from '../../../src/store/index.js';
import { migrationProvider, queryBuilderOf } from '../../../src/store/testing.js';
import { DRIVERS } from '../../support/store-drivers.js';
import { freshDatabaseUrl } from '../../support/postgres.js';

const BEFORE = '009_coordinator_term';
const T0 = new Date('2026-01-01T00:00:00Z');

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function openAt(driver: DatabaseDriver, migration: string): Promise<Store> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kici-migrate-010-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const store = await openStore({ url: driver === 'postgres' ? await freshDatabaseUrl() : undefined, dataDir });
  cleanups.push(() => store.close());
  const { Migrator } = await import('kysely/migration');
  const result = await new Migrator({ db: queryBuilderOf(store), provider: migrationProvider }).migrateTo(migration);
  if (result.error) throw result.error;
  return store;
}

async function hasColumn(store: Store): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'agent_tokens' AND column_name = 'max_concurrency'`.execute(queryBuilderOf(store));
  return rows[0]?.n === 1;
}

for (const driver of DRIVERS) {
  describe(`migration 010 [${driver}]`, () => {
    it('leaves a token made before it with the default cap (null), still valid', async () => {
      const store = await openAt(driver, BEFORE);
      const old = issueAgentToken();
      await sql`INSERT INTO agent_tokens (id, name, token_hash, prefix, created_at)
                VALUES ('tok_old', 'old', ${old.hash}, ${old.prefix}, ${T0})`.execute(queryBuilderOf(store));

      expect(await store.migrations.migrate()).toContain('010_agent_token_slots');

      expect(await store.agents.findValidToken(old.hash, T0)).toMatchObject({ id: 'tok_old', maxConcurrency: null });
      const fresh = issueAgentToken();
      await store.agents.insertToken({ id: 'tok_new', name: 'new', tokenHash: fresh.hash, prefix: fresh.prefix, maxConcurrency: 10_000 }, T0);
      expect((await store.agents.validTokenHashes(T0)).map((t) => [t.id, t.maxConcurrency])).toEqual([
        ['tok_new', 10_000],
        ['tok_old', null],
      ]);
    });

    it('refuses a cap outside 1..10000, and goes down again', async () => {
      const store = await openAt(driver, '010_agent_token_slots');
      const db = queryBuilderOf(store);
      await expect(
        sql`INSERT INTO agent_tokens (id, name, token_hash, prefix, created_at, max_concurrency)
            VALUES ('tok_zero', 'zero', 'h', 'p', ${T0}, 0)`.execute(db),
      ).rejects.toThrow(/agent_tokens_max_concurrency_range/);
      expect(await hasColumn(store)).toBe(true);

      const { Migrator } = await import('kysely/migration');
      const down = await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE);
      expect(down.error).toBeUndefined();
      expect(await hasColumn(store)).toBe(false);
    });
  });
}
