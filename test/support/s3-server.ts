/**
 * A real S3-compatible server for tests: s3rver on 127.0.0.1 (a random port, a temp directory),
 * with a bucket made by the test through the SDK, as an operator would. s3rver accepts any
 * credentials; the SDK's default chain finds them in the environment, as in production.
 */
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { S3StorageSettings } from '../../src/store/index.js';

export interface TestS3 {
  endpoint: string;
  createBucket(name: string): Promise<void>;
  /** Settings for `bucket` on this server (or on `endpoint`, e.g. a proxy in front of it). */
  settings(bucket: string, overrides?: Partial<S3StorageSettings>): S3StorageSettings;
  close(): Promise<void>;
}

/** s3rver accepts any key pair; the tests give the SDK one through the environment. */
export function useTestS3Credentials(): void {
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
}

/**
 * s3rver encrypts its ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17+) no
 * longer offers, so every listing that pages would answer 500. Its tokens need no secrecy in a
 * test: DES alone is stood in for by the identity, leaving every other cipher as it is.
 */
function letS3rverPage(): void {
  const mark = crypto as unknown as { kiciDesStandIn?: boolean };
  if (mark.kiciDesStandIn) return;
  mark.kiciDesStandIn = true;
  const identity = { update: (data: string | Buffer, encoding?: BufferEncoding) => (typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : data), final: () => Buffer.alloc(0) };
  const cipher = crypto.createCipheriv;
  const decipher = crypto.createDecipheriv;
  (crypto as { createCipheriv: unknown }).createCipheriv = (algorithm: string, ...rest: unknown[]) =>
    algorithm === 'des' ? identity : (cipher as (...a: unknown[]) => unknown)(algorithm, ...rest);
  (crypto as { createDecipheriv: unknown }).createDecipheriv = (algorithm: string, ...rest: unknown[]) =>
    algorithm === 'des' ? identity : (decipher as (...a: unknown[]) => unknown)(algorithm, ...rest);
}

export async function startTestS3(): Promise<TestS3> {
  useTestS3Credentials();
  letS3rverPage();
  const directory = mkdtempSync(join(tmpdir(), 'kici-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const settings = (bucket: string, overrides: Partial<S3StorageSettings> = {}): S3StorageSettings => ({
    bucket,
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    prefix: '',
    checksums: 'when_required',
    ...overrides,
  });
  const admin = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
  return {
    endpoint,
    settings,
    async createBucket(name) {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    async close() {
      admin.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
