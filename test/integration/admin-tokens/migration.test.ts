/**
 * Migration 012: live admin tokens that share a name (a changed KICI_BOOTSTRAP_ADMIN_TOKEN used to
 * register a second live `bootstrap`) get unique names, the same on every run: the oldest keeps
 * it, each other becomes `<name>-<id>`, and the renames are audited as `system`. Revoked tokens
 * keep theirs. After it the database itself refuses a second live name; it goes down again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type DatabaseDriver, type Store } from '../../../src/store/index.js';
import { migrationProvider, queryBuilderOf } from '../../../src/store/testing.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { DRIVERS } from '../../support/store-drivers.js';

const BEFORE = '011_environments';
const THIS = '012_admin_token_names_and_audit';
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function openAt(driver: DatabaseDriver, migration: string): Promise<Store> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kici-migrate-012-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const store = await openStore({ url: driver === 'postgres' ? await freshDatabaseUrl() : undefined, dataDir });
  cleanups.push(() => store.close());
  await migrateTo(store, migration);
  return store;
}

async function migrateTo(store: Store, migration: string): Promise<void> {
  const { Migrator } = await import('kysely/migration');
  const result = await new Migrator({ db: queryBuilderOf(store), provider: migrationProvider }).migrateTo(migration);
  if (result.error) throw result.error;
}

async function insertToken(store: Store, id: string, name: string, createdAt: Date, revokedAt: Date | null = null): Promise<void> {
  await sql`INSERT INTO admin_tokens (id, name, token_hash, prefix, created_at, revoked_at)
            VALUES (${id}, ${name}, ${`hash-${id}`}, 'kadm_1234567', ${createdAt}, ${revokedAt})`.execute(queryBuilderOf(store));
}

for (const driver of DRIVERS) {
  describe(`migration 012 [${driver}]`, () => {
    it('renames live duplicates deterministically, audits each rename, leaves revoked tokens and unique names alone', async () => {
      const store = await openAt(driver, BEFORE);
      // Inserted out of order: the oldest (created_at, then id) keeps the name.
      await insertToken(store, 'adm_c', 'bootstrap', at(2));
      await insertToken(store, 'adm_a', 'bootstrap', at(1));
      await insertToken(store, 'adm_b', 'bootstrap', at(2));
      await insertToken(store, 'adm_old', 'bootstrap', at(0), at(1));
      await insertToken(store, 'adm_f1', 'first-start', at(5));
      await insertToken(store, 'adm_f2', 'first-start', at(5));
      await insertToken(store, 'adm_solo', 'alice', at(3));

      expect(await store.migrations.migrate()).toContain(THIS);

      const names = Object.fromEntries((await store.adminTokens.list()).map((t) => [t.id, t.name]));
      expect(names).toEqual({
        adm_old: 'bootstrap',
        adm_a: 'bootstrap',
        adm_b: 'bootstrap-adm_b',
        adm_c: 'bootstrap-adm_c',
        adm_solo: 'alice',
        adm_f1: 'first-start',
        adm_f2: 'first-start-adm_f2',
      });
      const renames = await store.audit.list({ limit: 50, action: 'admin_token.rename' });
      expect(renames.map((e) => [e.actor, e.subject.id, e.subject.name, e.details.from]).sort()).toEqual([
        ['system', 'adm_b', 'bootstrap-adm_b', 'bootstrap'],
        ['system', 'adm_c', 'bootstrap-adm_c', 'bootstrap'],
        ['system', 'adm_f2', 'first-start-adm_f2', 'first-start'],
      ]);
      expect(renames.every((e) => e.actorTokenId === null && e.orgId === null)).toBe(true);
    });

    it('then refuses a second live name in the database, allows one beside revoked ones, and goes down again', async () => {
      const store = await openAt(driver, THIS);
      await insertToken(store, 'adm_1', 'alice', T0, at(1));
      await insertToken(store, 'adm_2', 'alice', at(2));
      await expect(insertToken(store, 'adm_3', 'alice', at(3))).rejects.toThrow(/admin_tokens_live_name/);
      await expect(sql`INSERT INTO audit_events (actor, action, subject_id) VALUES ('system', 'Not An Action', 'x')`.execute(queryBuilderOf(store))).rejects.toThrow(
        /audit_events_action_shape/,
      );

      await migrateTo(store, BEFORE);
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'audit_events'`.execute(queryBuilderOf(store));
      expect(rows[0]?.n).toBe(0);
      await insertToken(store, 'adm_3', 'alice', at(3));
    });
  });
}
