/** Delivery copies over each backend's BlobStore: gzip bytes must come back exactly. */
import { expect, it } from 'vitest';
import { deliveryCopyKey, readDeliveryCopy, storeDeliveryCopy } from '../../src/store/index.js';
import { ownFolder } from './object-storage-blobs.js';
import type { ObjectStorageContext } from './object-storage.contract.js';

export function deliveryCopiesContract(ctx: ObjectStorageContext): void {
  it('stores a gzipped copy under event-log/<org>/<delivery>.json.gz and reads it back', async () => {
    const blobs = ctx.backend().open().blobs;
    const org = ownFolder();
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', n: 'x'.repeat(1000) }));
    const deliveryId = 'src_abc:refs/heads/main:0123abcd';
    const result = await storeDeliveryCopy(blobs, org, deliveryId, body);
    expect(result).toEqual({ stored: true, key: deliveryCopyKey(org, deliveryId) });
    expect(deliveryCopyKey(org, deliveryId)).toMatch(new RegExp(`^event-log/${org}/[^/]+\\.json\\.gz$`));
    const raw = await blobs.get(deliveryCopyKey(org, deliveryId));
    expect(raw!.length).toBeLessThan(body.length);
    expect((await readDeliveryCopy(blobs, org, deliveryId))?.equals(body)).toBe(true);
    expect(await blobs.list(`event-log/${org}`)).toEqual([deliveryCopyKey(org, deliveryId)]);
  });

  it('a large body (compressed off the event loop) comes back exactly too', async () => {
    const blobs = ctx.backend().open().blobs;
    const org = ownFolder();
    const body = Buffer.from(JSON.stringify({ commits: Array.from({ length: 2000 }, (_, i) => ({ id: i.toString(16).padStart(40, '0'), message: `change ${i}` })) }));
    expect(body.length).toBeGreaterThan(64 * 1024);
    await storeDeliveryCopy(blobs, org, 'big', body);
    expect((await readDeliveryCopy(blobs, org, 'big'))?.equals(body)).toBe(true);
  });

  it('omits payloads over the limit', async () => {
    const blobs = ctx.backend().open().blobs;
    const org = ownFolder();
    expect(await storeDeliveryCopy(blobs, org, 'd1', Buffer.alloc(11), 10)).toEqual({ stored: false, reason: 'size_exceeded' });
    expect(await readDeliveryCopy(blobs, org, 'd1')).toBeNull();
  });
}
