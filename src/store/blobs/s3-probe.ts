/**
 * The start-time check of S3 storage: each bucket must exist and take writes, or the orchestrator
 * does not start. Better one clear refusal at start than every delivery copy and step log failing
 * later. The error names the bucket and S3's answer, never a credential.
 */
import { randomUUID } from 'node:crypto';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { S3StorageUnavailableError } from './s3-failures.js';
import { describeS3Error, type S3Requests } from './s3-requests.js';

/** HeadBucket, then put and delete a probe object under the storage prefix. */
export async function probeBucket(objects: S3Requests, purpose: string, where: string): Promise<void> {
  const bucket = objects.bucket;
  try {
    await objects.retrying(() => objects.client.send(new HeadBucketCommand({ Bucket: bucket })));
  } catch (error) {
    throw new S3StorageUnavailableError(
      `S3 ${purpose} bucket "${bucket}" (${where}) cannot be reached: HeadBucket answered ${describeS3Error(error)}; check that the bucket exists, KICI_STORAGE_REGION, and the credentials`,
    );
  }
  const probe = `.kici-probe/${randomUUID()}`;
  try {
    await objects.put(probe, Buffer.from('kici start-time write check\n'));
    await objects.delete(probe);
  } catch (error) {
    throw new S3StorageUnavailableError(
      `S3 ${purpose} bucket "${bucket}" (${where}) refuses writes: writing and deleting ${objects.prefix}${probe} answered ${describeS3Error(error)}; the orchestrator needs PutObject, GetObject, DeleteObject and ListBucket there`,
    );
  }
}
