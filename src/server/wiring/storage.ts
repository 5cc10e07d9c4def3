/**
 * Object storage (blobs and step logs) as configured: the filesystem under the data directory,
 * the store's database, or an S3 bucket. S3 is checked before the node relies on it: a bucket
 * that is missing or refuses writes stops the start with an error naming the bucket and S3's
 * answer, rather than every webhook copy and step log failing later.
 */
import {
  migrateObjectStorage,
  type ObjectStorage,
  openDatabaseStorage,
  openFilesystemStorage,
  openS3Storage,
  type S3StorageSettings,
  type StorageMigrationResult,
  type StorageTarget,
  type Store,
} from '../../store/index.js';
import type { OrchestratorConfig } from '../config.js';
import type { Logger } from '../logger.js';

export interface OpenedStorage extends ObjectStorage {
  close(): void;
}

export async function openObjectStorage(config: OrchestratorConfig, store: Store, log: Logger): Promise<OpenedStorage> {
  if (config.storageType === 'database') return { ...openDatabaseStorage(store), close: () => {} };
  if (config.storageType === 'filesystem') return { ...openFilesystemStorage(config.dataDir), close: () => {} };
  const settings = config.s3;
  if (!settings) throw new Error('KICI_STORAGE_TYPE=s3 without S3 settings');
  const s3 = await openS3Storage(settings);
  try {
    await s3.check();
  } catch (error) {
    s3.close();
    throw error;
  }
  // Where, never who: credentials stay with the SDK's chain.
  log.info({ bucket: settings.bucket, logBucket: settings.logBucket ?? settings.bucket, endpoint: settings.endpoint ?? 'aws', region: settings.region, prefix: settings.prefix, checksums: settings.checksums }, 'object storage: s3');
  return s3;
}

/**
 * Copy this node's object storage to `target` (a bucket is checked first, as at start). The node
 * keeps using its current storage: switch KICI_STORAGE_TYPE and restart once the copy is done, and
 * run it again just before, to pick up what was written meanwhile (what is there already is skipped).
 */
export function storageMigration(config: OrchestratorConfig, store: Store, current: ObjectStorage): (target: StorageTarget) => Promise<StorageMigrationResult> {
  return async (target) => {
    const from = config.storageType;
    if (target.to === from && target.to !== 's3') return { refused: `this node already keeps its objects in ${from}` };
    if (target.to === 's3' && config.s3 && sameBucket(config.s3, target.s3)) return { refused: 'this node already keeps its objects in that bucket, under that prefix' };
    const s3 = target.to === 's3' ? await openS3Storage(target.s3) : undefined;
    try {
      await s3?.check();
      const to = s3 ?? (target.to === 'database' ? openDatabaseStorage(store) : openFilesystemStorage(config.dataDir));
      return { from, to: target.to, counts: await migrateObjectStorage(store, current, to) };
    } finally {
      s3?.close();
    }
  };
}

function sameBucket(a: S3StorageSettings, b: S3StorageSettings): boolean {
  const folder = (p: string) => p.replace(/^\/+|\/+$/g, '');
  return a.bucket === b.bucket && (a.endpoint ?? '') === (b.endpoint ?? '') && folder(a.prefix) === folder(b.prefix);
}
