/**
 * Listings longer than one ListObjectsV2 page (pages of 7 keys here, 1000 in production): every
 * blob is listed, and a step log of many chunks reads back whole on a fresh instance.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openS3Storage, type S3Storage } from '../../../src/store/index.js';
import { startTestS3, type TestS3 } from '../../support/s3-server.js';

describe('S3 listings over several pages', () => {
  let s3: TestS3;
  const bucket = `paging-${randomUUID()}`;
  const opened: S3Storage[] = [];
  const open = async () => {
    const storage = await openS3Storage({ ...s3.settings(bucket), listPageSize: 7 });
    opened.push(storage);
    return storage;
  };

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket(bucket);
  });
  afterAll(async () => {
    for (const storage of opened) storage.close();
    await s3?.close();
  });

  it('lists every blob, in order', async () => {
    const { blobs } = await open();
    const keys = Array.from({ length: 30 }, (_, i) => `paged/k${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((key) => blobs.put(key, Buffer.from(key))));
    expect(await blobs.list('paged')).toEqual(keys);
  });

  it('reads a step log of many chunks back whole, from a fresh instance too', async () => {
    const writer = (await open()).stepLogs;
    const run = randomUUID();
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i}\n`);
    for (const line of lines) await writer.append(run, 'job', 0, line);
    for (const reader of [writer, (await open()).stepLogs]) {
      expect((await reader.read(run, 'job', 0)).text).toBe(lines.join(''));
      expect(await reader.listJobLogs(run, 'job')).toEqual([{ stepIndex: 0, bytes: Buffer.byteLength(lines.join('')) }]);
    }
  });
});
