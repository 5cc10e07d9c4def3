/** The backends the object storage contract runs on: the filesystem, the store's database, and S3. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DatabaseDriver,
  type ObjectStorageOptions,
  openDatabaseStorage,
  openFilesystemStorage,
  openStore,
  type S3Storage,
  type Store,
} from '../../src/store/index.js';
// The SDK-loading opener itself (the door's openS3Storage is async), as a backend opens synchronously.
import { openS3StorageWithSdk } from '../../src/store/blobs/s3-storage.js';
import { startTestS3 } from '../support/s3-server.js';
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

/**
 * A bucket of its own on s3rver (test/support/s3-server.ts), under a key prefix so the prefix is
 * exercised too. `openAnother` is a second client over the same bucket, as a second node's.
 */
export async function openS3Backend(): Promise<ObjectStorageBackend> {
  const s3 = await startTestS3();
  const bucket = `contract-${randomUUID()}`;
  await s3.createBucket(bucket);
  const opened: S3Storage[] = [];
  const open = (options?: ObjectStorageOptions): S3Storage => {
    const storage = openS3StorageWithSdk(s3.settings(bucket, { prefix: 'kici/contract' }), options);
    opened.push(storage);
    return storage;
  };
  return {
    open,
    openAnother: async (options) => open(options),
    async close() {
      for (const storage of opened) storage.close();
      await s3.close();
    },
  };
}
