/**
 * The three ways to open object storage (blobs and step logs), with one shape: the filesystem under
 * the data directory for a single node, the store's database for nodes sharing a PostgreSQL, or
 * S3 (AWS or a compatible server) for nodes sharing a bucket.
 */
import { join } from 'node:path';
import { builderOf, type Store } from '../store.js';
import type { BlobStore } from './blob-store.js';
import { DatabaseBlobStore } from './database.js';
import { DatabaseStepLogStore } from './database-step-logs.js';
import { FilesystemBlobStore } from './filesystem.js';
import type { S3StorageSettings } from './s3-settings.js';
import { FilesystemStepLogStore, type StepLogStore } from './step-logs.js';

/** Object storage as the orchestrator uses it, from either backend. */
export interface ObjectStorage {
  blobs: BlobStore;
  stepLogs: StepLogStore;
}

export interface ObjectStorageOptions {
  /** Bytes kept per step log before the truncation notice (default STEP_LOG_CAP_BYTES). */
  stepLogCapBytes?: number;
  /** S3 only: how long after a step log write is given up on the notice of the lost bytes is written, if no append carries it first. */
  lossNoticeDelayMs?: number;
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

/** S3 storage holds a client to release, and can check its buckets before the node relies on them. */
export interface S3Storage extends ObjectStorage {
  /** Each bucket exists and takes writes; throws S3StorageUnavailableError naming the bucket and S3's answer. */
  check(): Promise<void>;
  close(): void;
}

/**
 * Blobs in `bucket`, step logs in `logBucket` (the same bucket by default), all under `prefix`.
 * The AWS SDK is loaded here, on first use, not by whoever imports the store.
 */
export async function openS3Storage(settings: S3StorageSettings, options: ObjectStorageOptions = {}): Promise<S3Storage> {
  const { openS3StorageWithSdk } = await import('./s3-storage.js');
  return openS3StorageWithSdk(settings, options);
}
