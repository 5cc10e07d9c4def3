import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deliveryCopyKey,
  FilesystemBlobStore,
  InvalidBlobKeyError,
  readDeliveryCopy,
  storeDeliveryCopy,
} from '../../../src/store/index.js';

const dirs: string[] = [];
function blobStore(): FilesystemBlobStore {
  const dir = mkdtempSync(join(tmpdir(), 'kici-blobs-'));
  dirs.push(dir);
  return new FilesystemBlobStore(dir);
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('FilesystemBlobStore', () => {
  it('puts, gets, lists and deletes', async () => {
    const blobs = blobStore();
    await blobs.put('a/b/one.bin', Buffer.from('one'));
    await blobs.put('a/two.bin', Buffer.from('two'));
    await blobs.put('a/b/one.bin', Buffer.from('uno'));
    expect((await blobs.get('a/b/one.bin'))?.toString()).toBe('uno');
    expect(await blobs.get('a/missing')).toBeNull();
    expect(await blobs.list('a/')).toEqual(['a/b/one.bin', 'a/two.bin']);
    expect(await blobs.list('nothing-here')).toEqual([]);
    expect(await blobs.delete('a/two.bin')).toBe(true);
    expect(await blobs.delete('a/two.bin')).toBe(false);
    expect(await blobs.list('')).toEqual(['a/b/one.bin']);
  });

  it('refuses keys that could escape the root', async () => {
    const blobs = blobStore();
    for (const key of ['../x', 'a/../../x', '/abs', 'a//b', 'a/./b', 'sp ace']) {
      await expect(blobs.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidBlobKeyError);
    }
  });
});

describe('delivery copies', () => {
  it('stores a gzipped copy under event-log/<org>/<delivery>.json.gz and reads it back', async () => {
    const blobs = blobStore();
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', n: 'x'.repeat(1000) }));
    const deliveryId = 'src_abc:refs/heads/main:0123abcd';
    const result = await storeDeliveryCopy(blobs, 'org1', deliveryId, body);
    expect(result).toEqual({ stored: true, key: deliveryCopyKey('org1', deliveryId) });
    expect(deliveryCopyKey('org1', deliveryId)).toMatch(/^event-log\/org1\/[^/]+\.json\.gz$/);
    const raw = await blobs.get(deliveryCopyKey('org1', deliveryId));
    expect(raw!.length).toBeLessThan(body.length);
    expect((await readDeliveryCopy(blobs, 'org1', deliveryId))?.equals(body)).toBe(true);
  });

  it('omits payloads over the limit', async () => {
    const blobs = blobStore();
    expect(await storeDeliveryCopy(blobs, 'org1', 'd1', Buffer.alloc(11), 10)).toEqual({
      stored: false,
      reason: 'size_exceeded',
    });
    expect(await readDeliveryCopy(blobs, 'org1', 'd1')).toBeNull();
  });

  it('keeps dot-only delivery ids inside their folder', () => {
    expect(deliveryCopyKey('..', '..')).toBe('event-log/%2E%2E/%2E%2E.json.gz');
  });
});
