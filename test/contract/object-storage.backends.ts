/** The backends the object storage contract runs on: the filesystem, and the store's database. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatabaseDriver, openDatabaseStorage, openFilesystemStorage, openStore, type Store } from '../../src/store/index.js';
import { openTestStore } from '../support/store-drivers.js';
import type { ObjectStorageBackend } from './object-storage.contract.js';

/** A temp data directory; every `open` is a new instance over it. Not shareable, so no `openAnother`. */
export async function openFilesystemBackend(): Promise<ObjectStorageBackend> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kici-object-storage-'));
  return {
    open: (options) => openFilesystemStorage(dataDir, options),
    async close() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A migrated store on `driver` (a fresh database on the test PostgreSQL, or PGlite in a temp
 * directory). On PostgreSQL `openAnother` opens a second store on the same database, with its own
 * pool, as a second orchestrator would; PGlite allows one opener, so there it shares the store.
 */
export async function openDatabaseBackend(driver: DatabaseDriver): Promise<ObjectStorageBackend> {
  const { store, dataDir, url } = await openTestStore(driver);
  const others: Store[] = [];
  return {
    open: (options) => openDatabaseStorage(store, options),
    async openAnother(options) {
      if (!url) return openDatabaseStorage(store, options);
      const other = await openStore({ url, dataDir });
      others.push(other);
      return openDatabaseStorage(other, options);
    },
    async close() {
      for (const other of others) await other.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
