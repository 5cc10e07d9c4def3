export { assertBlobKey, type BlobStore, InvalidBlobKeyError, keySegment } from './blob-store.js';
export { FilesystemBlobStore } from './filesystem.js';
export type { DatabaseBlobStore } from './database.js';
export type { DatabaseStepLogStore } from './database-step-logs.js';
export {
  DELIVERY_COPY_MAX_BYTES,
  type DeliveryCopyResult,
  deliveryCopyKey,
  readDeliveryCopy,
  storeDeliveryCopy,
} from './delivery-copies.js';
export { FilesystemStepLogStore, type StepLogChunk, type StepLogInfo, type StepLogStore } from './step-logs.js';
export { STEP_LOG_CAP_BYTES, STEP_LOG_READ_BYTES, truncationNotice } from './step-log-rules.js';
export { type ObjectStorage, type ObjectStorageOptions, openDatabaseStorage, openFilesystemStorage } from './object-storage.js';
