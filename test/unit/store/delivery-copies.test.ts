/**
 * The delivery copy is compressed off the event loop (zlib's threadpool), in the same gzip format
 * as before: copies stored by earlier versions read back unchanged.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deliveryCopyKey, readDeliveryCopy, storeDeliveryCopy, type BlobStore } from '../../../src/store/index.js';

/** A BlobStore in a Map that notes when each put arrives. */
function memoryBlobs(): BlobStore & { puts: string[] } {
  const objects = new Map<string, Buffer>();
  const puts: string[] = [];
  return {
    puts,
    async put(key, bytes) {
      puts.push(key);
      objects.set(key, Buffer.from(bytes));
    },
    async get(key) {
      return objects.get(key) ?? null;
    },
    async delete(key) {
      return objects.delete(key);
    },
    async list(prefix) {
      return [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
  };
}

const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', commits: Array.from({ length: 200 }, (_, i) => ({ id: i, message: `change ${i}` })) }));

describe('delivery copies', () => {
  it('does not compress on the caller’s turn of the event loop: the put waits for the threadpool', async () => {
    const blobs = memoryBlobs();
    const stored = storeDeliveryCopy(blobs, 'org', 'd1', body);
    // A synchronous gzip would have compressed and handed the bytes to put() before returning.
    expect(blobs.puts).toEqual([]);
    expect(await stored).toEqual({ stored: true, key: deliveryCopyKey('org', 'd1') });
    expect(blobs.puts).toEqual([deliveryCopyKey('org', 'd1')]);
  });

  it('stores the same bytes gzipSync made, and reads back a copy an earlier version stored', async () => {
    const blobs = memoryBlobs();
    await storeDeliveryCopy(blobs, 'org', 'd1', body);
    expect((await blobs.get(deliveryCopyKey('org', 'd1')))!.equals(gzipSync(body))).toBe(true);

    await blobs.put(deliveryCopyKey('org', 'old'), gzipSync(body));
    expect((await readDeliveryCopy(blobs, 'org', 'old'))!.equals(body)).toBe(true);
    expect(await readDeliveryCopy(blobs, 'org', 'none')).toBeNull();
  });
});
