/** A migrated store on PGlite (a temp directory) or PostgreSQL (a fresh database) for the admin token contract. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import { freshDatabaseUrl } from '../support/postgres.js';
import type { AdminTokenStoreBackend } from './admin-token-store.contract.js';

export async function openAdminTokenDatabase(driver: 'postgres' | 'pglite'): Promise<AdminTokenStoreBackend> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kici-admin-token-contract-'));
  const url = driver === 'postgres' ? await freshDatabaseUrl() : undefined;
  const store = await openStore({ url, dataDir });
  await store.migrations.migrate();
  return {
    store,
    concurrent: driver === 'postgres',
    async close() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
