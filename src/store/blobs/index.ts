export { assertBlobKey, type BlobStore, InvalidBlobKeyError, keySegment } from './blob-store.js';
export { FilesystemBlobStore } from './filesystem.js';
export type { DatabaseBlobStore } from './database.js';
export type { DatabaseStepLogStore } from './database-step-logs.js';
export {
  DELIVERY_COPY_MAX_BYTES,
  type DeliveryCopyResult,
  deleteDeliveryCopy,
  deliveryCopyKey,
  readDeliveryCopy,
  storeDeliveryCopy,
} from './delivery-copies.js';
export { FilesystemStepLogStore, type StepLogChunk, type StepLogInfo, type StepLogStore } from './step-logs.js';
export { STEP_LOG_CAP_BYTES, STEP_LOG_READ_BYTES, truncationNotice } from './step-log-rules.js';
export {
  type ObjectStorage,
  type ObjectStorageOptions,
  openDatabaseStorage,
  openFilesystemStorage,
  openS3Storage,
  type S3Storage,
} from './object-storage.js';
export { lostBytesNotice, S3StorageUnavailableError } from './s3-failures.js';
export {
  migrateObjectStorage,
  type StorageKind,
  type StorageMigrationCounts,
  type StorageMigrationResult,
  type StorageTarget,
} from './storage-migration.js';
export type { S3ChecksumMode, S3StorageSettings } from './s3-settings.js';
