/** S3 storage put together (imported on demand by object-storage.ts, as it loads the AWS SDK). */
import type { ObjectStorageOptions, S3Storage } from './object-storage.js';
import { S3BlobStore } from './s3-blobs.js';
import { probeBucket } from './s3-probe.js';
import { S3Requests } from './s3-requests.js';
import { createS3Client, prefixFolder, type S3StorageSettings } from './s3-settings.js';
import { S3StepLogStore } from './s3-step-logs.js';

export function openS3StorageWithSdk(settings: S3StorageSettings, options: ObjectStorageOptions = {}): S3Storage {
  const client = createS3Client(settings);
  const prefix = prefixFolder(settings.prefix);
  const blobObjects = new S3Requests(client, settings.bucket, prefix, settings.retry, settings.listPageSize);
  const logObjects = new S3Requests(client, settings.logBucket ?? settings.bucket, prefix, settings.retry, settings.listPageSize);
  const where = settings.endpoint ?? `AWS ${settings.region}`;
  return {
    blobs: new S3BlobStore(blobObjects),
    stepLogs: new S3StepLogStore(logObjects, { capBytes: options.stepLogCapBytes, lossNoticeDelayMs: options.lossNoticeDelayMs }),
    async check() {
      await probeBucket(blobObjects, 'blob', where);
      if (logObjects.bucket !== blobObjects.bucket) await probeBucket(logObjects, 'step log', where);
    },
    close: () => client.destroy(),
  };
}
