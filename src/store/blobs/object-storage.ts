/**
 * The two ways to open object storage (blobs and step logs), with one shape: the filesystem under
 * the data directory for a single node, or the store's database for nodes sharing a PostgreSQL.
 */
import { join } from 'node:path';
import { builderOf, type Store } from '../store.js';
import type { BlobStore } from './blob-store.js';
import { DatabaseBlobStore } from './database.js';
import { DatabaseStepLogStore } from './database-step-logs.js';
import { FilesystemBlobStore } from './filesystem.js';
import { FilesystemStepLogStore, type StepLogStore } from './step-logs.js';

/** Object storage as the orchestrator uses it, from either backend. */
export interface ObjectStorage {
  blobs: BlobStore;
  stepLogs: StepLogStore;
}

export interface ObjectStorageOptions {
  /** Bytes kept per step log before the truncation notice (default STEP_LOG_CAP_BYTES). */
  stepLogCapBytes?: number;
}

/** The embedded default: blobs and step logs under `<dataDir>/blobs`, for one node. */
export function openFilesystemStorage(dataDir: string, options: ObjectStorageOptions = {}): ObjectStorage {
  const root = join(dataDir, 'blobs');
  return {
    blobs: new FilesystemBlobStore(root),
    stepLogs: new FilesystemStepLogStore(root, { capBytes: options.stepLogCapBytes }),
  };
}

/**
 * Blobs and step logs in the store's own database (migration 007), so every orchestrator sharing
 * one PostgreSQL sees the same objects. It rides on the store's connections: close the store, not
 * this. On PGlite it works too, for one node, like the rest of the store.
 */
export function openDatabaseStorage(store: Store, options: ObjectStorageOptions = {}): ObjectStorage {
  const db = builderOf(store);
  return {
    blobs: new DatabaseBlobStore(db),
    stepLogs: new DatabaseStepLogStore(db, { capBytes: options.stepLogCapBytes }),
  };
}
