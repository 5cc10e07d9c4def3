/**
 * migrateObjectStorage between backends: a log cut short at the target is continued, not copied
 * again; a blob of another size is copied again; step logs on the filesystem are not taken for blobs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateObjectStorage, openFilesystemStorage, openS3Storage, type S3Storage, truncationNotice } from '../../../src/store/index.js';
import { startTestS3, type TestS3 } from '../../support/s3-server.js';

describe('migrateObjectStorage', () => {
  let s3: TestS3;
  let target: S3Storage;
  const dataDir = mkdtempSync(join(tmpdir(), 'kici-migrate-'));
  const source = openFilesystemStorage(dataDir, { stepLogCapBytes: 20 });
  const run = randomUUID();
  const jobs = ['job-a', 'job-b'];
  // The store's side of it: one run and its jobs.
  const store = {
    runs: { list: async () => [{ id: run, createdAt: new Date() }] },
    jobs: { list: async () => jobs.map((id) => ({ id })) },
  } as unknown as Parameters<typeof migrateObjectStorage>[0];

  beforeAll(async () => {
    s3 = await startTestS3();
    const bucket = `migration-${randomUUID()}`;
    await s3.createBucket(bucket);
    target = await openS3Storage(s3.settings(bucket), { stepLogCapBytes: 20 });
  });
  afterAll(async () => {
    target?.close();
    await s3?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('copies, then continues a log where the target stops, and copies a changed blob again', async () => {
    await source.blobs.put('event-log/acme/one.json.gz', Buffer.from('first'));
    await source.stepLogs.append(run, 'job-a', 0, 'abc');
    await source.stepLogs.append(run, 'job-b', 2, '0123456789');
    const first = await migrateObjectStorage(store, source, target);
    expect(first).toEqual({ blobs: { copied: 1, skipped: 0, bytes: 5 }, stepLogs: { copied: 2, skipped: 0, differs: 0, bytes: 13 } });

    await source.stepLogs.append(run, 'job-a', 0, 'défghijklmnopqrstuvwxyz');
    await source.blobs.put('event-log/acme/one.json.gz', Buffer.from('second!'));
    const second = await migrateObjectStorage(store, source, target);
    expect(second.blobs).toEqual({ copied: 1, skipped: 0, bytes: 7 });
    expect(second.stepLogs).toMatchObject({ copied: 1, skipped: 1, differs: 0 });
    // The same bytes, the cap's notice included.
    const expected = (await source.stepLogs.read(run, 'job-a', 0)).text;
    expect(expected).toBe(`abcdéfghijklmnopqrs${truncationNotice(20)}`);
    expect((await target.stepLogs.read(run, 'job-a', 0)).text).toBe(expected);
    expect((await target.blobs.get('event-log/acme/one.json.gz'))?.toString()).toBe('second!');
    expect(await target.blobs.list('')).toEqual(['event-log/acme/one.json.gz', ...(await target.blobs.list('kici-logs'))]);
  });
});
