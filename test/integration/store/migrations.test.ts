import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATION_NAMES, openStore, SchemaBehindError, type Store } from '../../../src/store/index.js';
import { migrationProvider, queryBuilderOf } from '../../../src/store/testing.js';
import { freshDatabaseUrl } from '../../support/postgres.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kici-migrate-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function open(url: string | undefined, dataDir = tempDir()): Promise<Store> {
  const store = await openStore({ url, dataDir });
  cleanups.push(() => store.close());
  return store;
}

async function tableNames(store: Store): Promise<string[]> {
  const result = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(queryBuilderOf(store));
  return result.rows.map((r) => r.table_name);
}

const EXPECTED_TABLES = [
  'admin_tokens',
  'agent_tokens',
  'agents',
  'blobs',
  'dedup_keys',
  'deliveries',
  'job_needs',
  'jobs',
  'ref_pushes',
  'ref_tip_baselines',
  'ref_tips',
  'runs',
  'sealed_secrets',
  'shards',
  'sources',
  'step_log_chunks',
  'step_logs',
  'steps',
  'workflow_registrations',
];

/** The collation a column sorts by (null: the database's default). */
async function collationOf(store: Store, table: string, column: string): Promise<string | null> {
  const result = await sql<{ collation_name: string | null }>`
    select collation_name from information_schema.columns
    where table_schema = 'public' and table_name = ${table} and column_name = ${column}`.execute(queryBuilderOf(store));
  return result.rows[0]?.collation_name ?? null;
}

describe('migrations on PostgreSQL', () => {
  it('migrates a fresh database, reports status, and re-runs as a no-op', async () => {
    const store = await open(await freshDatabaseUrl());
    const before = await store.migrations.status();
    expect(before.upToDate).toBe(false);
    expect(before.pending).toEqual(MIGRATION_NAMES);

    expect(await store.migrations.migrate()).toEqual(MIGRATION_NAMES);
    expect(await tableNames(store)).toEqual(expect.arrayContaining(EXPECTED_TABLES));
    // Blob keys list in byte order whatever the server's locale (this test server's is C, so the
    // contract's ordering test alone could not tell).
    expect(await collationOf(store, 'blobs', 'key')).toBe('C');

    const after = await store.migrations.status();
    expect(after.upToDate).toBe(true);
    expect(after.migrations[0]?.executedAt).toBeInstanceOf(Date);
    expect(await store.migrations.migrate()).toEqual([]);
  });

  it('refuses a schema that is behind when auto-migrate is off, migrates when on', async () => {
    const store = await open(await freshDatabaseUrl());
    await expect(store.migrations.prepare({ autoMigrate: false })).rejects.toBeInstanceOf(SchemaBehindError);
    await expect(store.migrations.prepare({ autoMigrate: false })).rejects.toThrow(/kici-admin db migrate/);
    expect(await store.migrations.prepare({ autoMigrate: true })).toEqual(MIGRATION_NAMES);
    expect(await store.migrations.prepare({ autoMigrate: false })).toEqual([]);
  });

  it('two concurrent migrators apply each migration exactly once', async () => {
    const url = await freshDatabaseUrl();
    const a = await open(url);
    const b = await open(url);
    const [fromA, fromB] = await Promise.all([a.migrations.migrate(), b.migrations.migrate()]);
    expect([...fromA, ...fromB].sort()).toEqual(MIGRATION_NAMES);
    const rows = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(queryBuilderOf(a));
    expect(rows.rows[0]?.n).toBe(MIGRATION_NAMES.length);
    expect((await b.migrations.status()).upToDate).toBe(true);
  });

  it('can migrate all the way down and up again (every migration is reversible)', async () => {
    const store = await open(await freshDatabaseUrl());
    await store.migrations.migrate();
    const { Migrator, NO_MIGRATIONS } = await import('kysely/migration');
    const down = await new Migrator({ db: queryBuilderOf(store), provider: migrationProvider }).migrateTo(NO_MIGRATIONS);
    expect(down.error).toBeUndefined();
    expect(down.results?.map((r) => r.migrationName)).toEqual([...MIGRATION_NAMES].reverse());
    expect(await tableNames(store)).not.toContain('runs');
    expect(await tableNames(store)).not.toContain('blobs');
    expect(await store.migrations.migrate()).toEqual(MIGRATION_NAMES);
  });
});

describe('migrations on PGlite', () => {
  it('migrates, persists across reopen, and re-runs as a no-op', async () => {
    const dataDir = tempDir();
    const first = await openStore({ dataDir });
    expect(await first.migrations.migrate()).toEqual(MIGRATION_NAMES);
    expect(await tableNames(first)).toEqual(expect.arrayContaining(EXPECTED_TABLES));
    await first.close();

    const second = await open(undefined, dataDir);
    expect((await second.migrations.status()).upToDate).toBe(true);
    expect(await second.migrations.migrate()).toEqual([]);
    await expect(second.migrations.prepare({ autoMigrate: false })).resolves.toEqual([]);
  });
});
