/**
 * Object storage's contract (BlobStore and StepLogStore), one suite for every backend: the
 * filesystem, the database on PGlite and on PostgreSQL, and S3 (on s3rver). What the orchestrator sees must not
 * depend on which one the configuration picks.
 *
 * Usage: `describeObjectStorageContract('filesystem', async () => backend, { shareable: false })`,
 * once per backend. The backend is opened once for the suite; tests keep to their own keys and run
 * ids, so they never share objects.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { ObjectStorage, ObjectStorageOptions } from '../../src/store/index.js';
import { blobsContract } from './object-storage-blobs.js';
import { concurrencyContract } from './object-storage-concurrency.js';
import { deliveryCopiesContract } from './object-storage-delivery-copies.js';
import { stepLogsContract } from './object-storage-step-logs.js';

export interface ObjectStorageBackend {
  /** Storage as a node opens it. Every call is a new instance over the same objects, as after a restart. */
  open(options?: ObjectStorageOptions): ObjectStorage;
  /**
   * The same objects as a second node opens them: its own pool on PostgreSQL; on PGlite, which has
   * one opener, a second instance over the same store. Absent where storage cannot be shared (two
   * filesystem stores appending to one file race: each queues only its own appends).
   */
  openAnother?(options?: ObjectStorageOptions): Promise<ObjectStorage>;
  close(): Promise<void>;
}

export interface ObjectStorageContext {
  backend(): ObjectStorageBackend;
  /** The backend's `openAnother`; only tests declared for shareable backends call it. */
  openAnother(options?: ObjectStorageOptions): Promise<ObjectStorage>;
}

export interface ObjectStorageClaims {
  /** Several nodes may use the storage at once, so the two-node tests are declared. */
  shareable: boolean;
  /**
   * Two nodes appending to one step at once still keep the cap (the database locks the log's row).
   * S3 has no lock: only the run's owner appends to a step, so it claims shared reads, not this.
   * Defaults to `shareable`.
   */
  appendsFromTwoNodes?: boolean;
}

export function describeObjectStorageContract(name: string, open: () => Promise<ObjectStorageBackend>, options: ObjectStorageClaims): void {
  describe(`object storage contract [${name}]`, () => {
    let backend: ObjectStorageBackend | undefined;
    beforeAll(async () => {
      backend = await open();
    });
    afterAll(async () => {
      await backend?.close();
    });

    const opened = (): ObjectStorageBackend => {
      if (!backend) throw new Error('backend not open');
      return backend;
    };
    const ctx: ObjectStorageContext = {
      backend: opened,
      openAnother(storageOptions) {
        const another = opened().openAnother;
        if (!another) throw new Error(`${name} is declared shareable but cannot open another node's storage`);
        return another(storageOptions);
      },
    };

    describe('blobs', () => blobsContract(ctx));
    describe('delivery copies', () => deliveryCopiesContract(ctx));
    describe('step logs', () => stepLogsContract(ctx));
    describe('step logs under concurrent appends', () => concurrencyContract(ctx, options));
  });
}
