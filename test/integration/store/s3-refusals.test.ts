/**
 * S3 storage when S3 says no: at start (a missing bucket, a bucket that refuses writes), and while
 * running (a write retried until it succeeds; a step log write given up on, whose lost bytes are
 * then told in the step's own log). s3rver behind a proxy that refuses the next N requests.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lostBytesNotice, type S3Storage, S3StorageUnavailableError } from '../../../src/store/index.js';
// The SDK-loading opener itself (the door's openS3Storage is async), so each test opens in one line.
import { openS3StorageWithSdk } from '../../../src/store/blobs/s3-storage.js';
import { type RefusingProxy, startRefusingProxy } from '../../support/s3-refusals.js';
import { startTestS3, type TestS3 } from '../../support/s3-server.js';

describe('S3 storage refusals', () => {
  let s3: TestS3;
  let proxy: RefusingProxy;
  const bucket = `refusals-${randomUUID()}`;
  const opened: S3Storage[] = [];
  /** Storage through the proxy, with quick retries (4 attempts: 10, 20, 40 ms apart). */
  const open = (overrides: { bucket?: string; logBucket?: string } = {}, lossNoticeDelayMs = 60_000): S3Storage => {
    const storage = openS3StorageWithSdk(
      { ...s3.settings(bucket, { endpoint: proxy.endpoint, prefix: 'p' }), retry: { attempts: 4, baseDelayMs: 10 }, ...overrides },
      { lossNoticeDelayMs },
    );
    opened.push(storage);
    return storage;
  };

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket(bucket);
    proxy = await startRefusingProxy(s3.endpoint);
  });
  afterAll(async () => {
    for (const storage of opened) storage.close();
    await proxy?.close();
    await s3?.close();
  });

  describe('at start', () => {
    it('passes on a bucket that exists and takes writes, and leaves no probe behind', async () => {
      const storage = open();
      await storage.check();
      expect(await storage.blobs.list('')).toEqual([]);
    });

    it('refuses a missing bucket, naming it and S3\'s answer', async () => {
      const check = open({ bucket: 'no-such-bucket' }).check();
      await expect(check).rejects.toBeInstanceOf(S3StorageUnavailableError);
      await expect(check).rejects.toThrow(/S3 blob bucket "no-such-bucket" \(http:\/\/127\.0\.0\.1:\d+\) cannot be reached: HeadBucket answered 404 NotFound/);
    });

    it('refuses a missing log bucket, naming it as the step log bucket', async () => {
      await expect(open({ logBucket: 'no-log-bucket' }).check()).rejects.toThrow(/S3 step log bucket "no-log-bucket" .*404 NotFound/);
    });

    it('refuses a bucket that refuses PutObject, naming the bucket and S3\'s answer', async () => {
      proxy.refuseNext(1, 403, 'AccessDenied', 'PUT');
      const check = open().check();
      await expect(check).rejects.toThrow(new RegExp(`S3 blob bucket "${bucket}" .* refuses writes: writing and deleting p/\\.kici-probe/\\S+ answered 403 AccessDenied: refused by the test proxy`));
    });
  });

  describe('while running', () => {
    it('retries a write S3 could not take, until it succeeds', async () => {
      const storage = open();
      const before = proxy.seen.length;
      proxy.refuseNext(2, 503, 'SlowDown', 'PUT');
      await storage.blobs.put('retried/one', Buffer.from('kept'));
      expect(proxy.seen.slice(before).filter((r) => r.startsWith('PUT '))).toHaveLength(3);
      expect((await storage.blobs.get('retried/one'))?.toString()).toBe('kept');
    });

    it('does not retry a refusal', async () => {
      const storage = open();
      const before = proxy.seen.length;
      proxy.refuseNext(1, 403, 'AccessDenied', 'PUT');
      await expect(storage.blobs.put('refused/one', Buffer.from('x'))).rejects.toThrow(
        `S3 PutObject p/refused/one in bucket "${bucket}" failed: 403 AccessDenied: refused by the test proxy`,
      );
      expect(proxy.seen.slice(before).filter((r) => r.startsWith('PUT '))).toHaveLength(1);
      expect(await storage.blobs.get('refused/one')).toBeNull();
    });

    it('tells a step log the bytes it lost, with the next append', async () => {
      const { stepLogs } = open();
      const run = randomUUID();
      await stepLogs.append(run, 'job', 0, 'before\n');
      proxy.refuseNext(4, 503, 'ServiceUnavailable', 'PUT');
      await expect(stepLogs.append(run, 'job', 0, 'lost line\n')).rejects.toThrow(/10 bytes not stored: 503 ServiceUnavailable/);
      expect(await stepLogs.append(run, 'job', 0, 'after\n')).toBe(6);
      const notice = lostBytesNotice(10, '503 ServiceUnavailable: refused by the test proxy');
      expect((await stepLogs.read(run, 'job', 0)).text).toBe(`before\n${notice}after\n`);
    });

    it('adds up the bytes of appends lost one after another into one notice', async () => {
      const { stepLogs } = open();
      const run = randomUUID();
      // The first append's four attempts, then the second's attempts at the notice ahead of it.
      proxy.refuseNext(8, 503, 'ServiceUnavailable', 'PUT');
      await expect(stepLogs.append(run, 'job', 0, 'one\n')).rejects.toThrow(/4 bytes not stored/);
      await expect(stepLogs.append(run, 'job', 0, 'two!\n')).rejects.toThrow(/5 bytes not stored/);
      expect(await stepLogs.append(run, 'job', 0, 'three\n')).toBe(6);
      const notice = lostBytesNotice(9, '503 ServiceUnavailable: refused by the test proxy');
      expect((await stepLogs.read(run, 'job', 0)).text).toBe(`${notice}three\n`);
    });

    it('tells a step log the bytes it lost on its own when no append follows', async () => {
      const { stepLogs } = open({}, 50);
      const run = randomUUID();
      proxy.refuseNext(4, 503, 'ServiceUnavailable', 'PUT');
      await expect(stepLogs.append(run, 'job', 1, 'the last words\n')).rejects.toThrow(/15 bytes not stored/);
      const notice = lostBytesNotice(15, '503 ServiceUnavailable: refused by the test proxy');
      await expect.poll(async () => (await stepLogs.read(run, 'job', 1)).text, { timeout: 5000 }).toBe(notice);
    });
  });
});
