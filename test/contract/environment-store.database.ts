/**
 * The store room's EnvironmentRepository on a migrated database, for the contract suite. Pending
 * holds are held_runs rows, each on a run and job of its own (the table's foreign keys want
 * both), written with plain SQL through the test-only door: no repository writes holds yet.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/store/index.js';
import { queryBuilderOf } from '../../src/store/testing.js';
import { freshDatabaseUrl } from '../support/postgres.js';
import type { EnvironmentStoreBackend } from './environment-store.contract.js';

export async function openEnvironmentDatabase(driver: 'postgres' | 'pglite'): Promise<EnvironmentStoreBackend> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kici-env-contract-'));
  const url = driver === 'postgres' ? await freshDatabaseUrl() : undefined;
  const store = await openStore({ url, dataDir });
  await store.migrations.migrate();
  return {
    store: store.environments,
    setPendingHolds: (environmentId, count) => setPendingHolds(store, environmentId, count),
    async close() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Add holds until `count` are pending, or approve the surplus. */
export async function setPendingHolds(store: Store, environmentId: string, count: number): Promise<void> {
  const db = queryBuilderOf(store);
  const { rows } = await sql<{ id: string }>`select id from held_runs where environment_id = ${environmentId} and status = 'pending' order by id`.execute(db);
  for (const surplus of rows.slice(count)) {
    await sql`update held_runs set status = 'approved', decided_at = now(), decided_by = 'contract' where id = ${surplus.id}`.execute(db);
  }
  for (let i = rows.length; i < count; i++) await insertPendingHold(store, environmentId);
}

/** One pending hold of the environment, on a run and job made for it. */
export async function insertPendingHold(store: Store, environmentId: string, options: { expiresAt?: Date } = {}): Promise<string> {
  const db = queryBuilderOf(store);
  const runId = randomUUID();
  const jobId = randomUUID();
  const holdId = randomUUID();
  await sql`insert into runs (id, org_id, source_id, workflow_name, status, shard, owner_epoch, event)
    select ${runId}::uuid, org_id, 'src_contract', 'deploy', 'held', 0, 1, '{}'::jsonb from environments where id = ${environmentId}`.execute(db);
  await sql`insert into jobs (id, run_id, name, base_name, config, status, owner_epoch)
    values (${jobId}::uuid, ${runId}::uuid, 'deploy', 'deploy', '{}'::jsonb, 'pending', 1)`.execute(db);
  await sql`insert into held_runs (id, org_id, run_id, job_id, environment_id, gate, expires_at)
    select ${holdId}::uuid, org_id, ${runId}::uuid, ${jobId}::uuid, id, 'reviewers', ${options.expiresAt ?? new Date(Date.now() + 3600_000)}
      from environments where id = ${environmentId}`.execute(db);
  return holdId;
}
