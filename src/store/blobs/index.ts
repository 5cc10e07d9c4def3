export { assertBlobKey, type BlobStore, InvalidBlobKeyError, keySegment } from './blob-store.js';
export { FilesystemBlobStore } from './filesystem.js';
export {
  DELIVERY_COPY_MAX_BYTES,
  type DeliveryCopyResult,
  deliveryCopyKey,
  readDeliveryCopy,
  storeDeliveryCopy,
} from './delivery-copies.js';
export {
  FilesystemStepLogStore,
  STEP_LOG_CAP_BYTES,
  type StepLogChunk,
  type StepLogInfo,
  type StepLogStore,
  truncationNotice,
} from './step-logs.js';

import { join } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { FilesystemBlobStore } from './filesystem.js';
import { FilesystemStepLogStore, type StepLogStore } from './step-logs.js';

/** The embedded default: blobs and step logs under `<dataDir>/blobs`. */
export function openFilesystemStorage(dataDir: string, options: { stepLogCapBytes?: number } = {}): {
  blobs: BlobStore;
  stepLogs: StepLogStore;
} {
  const root = join(dataDir, 'blobs');
  return {
    blobs: new FilesystemBlobStore(root),
    stepLogs: new FilesystemStepLogStore(root, { capBytes: options.stepLogCapBytes }),
  };
}
