/** BlobStore: keys, bytes, and what `list` means. */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { type BlobStore, InvalidBlobKeyError } from '../../src/store/index.js';
import type { ObjectStorageContext } from './object-storage.contract.js';

/** A folder of this test's own, so tests sharing a backend never list each other's keys. */
export const ownFolder = (): string => `t-${randomUUID()}`;

export function blobsContract(ctx: ObjectStorageContext): void {
  const blobs = (): BlobStore => ctx.backend().open().blobs;

  it('puts, gets, lists and deletes', async () => {
    const at = ownFolder();
    const store = blobs();
    await store.put(`${at}/a/b/one.bin`, Buffer.from('one'));
    await store.put(`${at}/a/two.bin`, Buffer.from('two'));
    await store.put(`${at}/a/b/one.bin`, Buffer.from('uno'));
    expect((await store.get(`${at}/a/b/one.bin`))?.toString()).toBe('uno');
    expect(await store.get(`${at}/a/missing`)).toBeNull();
    expect(await store.list(`${at}/a/`)).toEqual([`${at}/a/b/one.bin`, `${at}/a/two.bin`]);
    expect(await store.list(`${at}/nothing-here`)).toEqual([]);
    expect(await store.delete(`${at}/a/two.bin`)).toBe(true);
    expect(await store.delete(`${at}/a/two.bin`)).toBe(false);
    expect(await store.get(`${at}/a/two.bin`)).toBeNull();
    expect(await store.list(at)).toEqual([`${at}/a/b/one.bin`]);
  });

  it('a new instance over the same storage sees what an earlier one wrote', async () => {
    const key = `${ownFolder()}/kept.bin`;
    await blobs().put(key, Buffer.from('still here'));
    expect((await blobs().get(key))?.toString()).toBe('still here');
  });

  it('keeps bytes exactly: every byte value, an empty object, and a view into a larger buffer', async () => {
    const at = ownFolder();
    const store = blobs();
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await store.put(`${at}/every-byte`, everyByte);
    await store.put(`${at}/empty`, new Uint8Array(0));
    const larger = Buffer.from('0123456789');
    await store.put(`${at}/view`, new Uint8Array(larger.buffer, larger.byteOffset + 3, 4));
    expect((await store.get(`${at}/every-byte`))?.equals(everyByte)).toBe(true);
    const empty = await store.get(`${at}/empty`);
    expect(empty).not.toBeNull();
    expect(empty!.length).toBe(0);
    expect((await store.get(`${at}/view`))?.toString()).toBe('3456');
  });

  it('lists keys in byte order, whatever their case or punctuation', async () => {
    const at = ownFolder();
    const store = blobs();
    const names = ['b', 'B', 'a', 'Z9', '0', '_x', '-x', '~x', '%41', '.dot', 'a.b', 'a-b', 'a~b', 'a+b', 'a=b', 'a:b', 'a@b', 'a%2Fb'];
    for (const name of names) await store.put(`${at}/${name}`, Buffer.from(name));
    // Keys are ASCII, so JavaScript's default sort (by UTF-16 unit) is byte order.
    expect(await store.list(at)).toEqual(names.map((n) => `${at}/${n}`).sort());
  });

  it('lists every key from the empty prefix, sorted', async () => {
    const at = ownFolder();
    const store = blobs();
    await store.put(`${at}/z`, Buffer.from('z'));
    await store.put(`${at}/a/deep/er`, Buffer.from('a'));
    const all = await store.list('');
    expect(all.filter((k) => k.startsWith(`${at}/`))).toEqual([`${at}/a/deep/er`, `${at}/z`]);
    expect(all).toEqual([...all].sort());
  });

  it('a prefix names a folder: wildcards in it are literal, siblings and the key itself are not below it', async () => {
    const at = ownFolder();
    const store = blobs();
    for (const key of ['a_c/x', 'abc/x', 'a%c/x', 'aXc/x', 'a%25c/x', 'a/x', 'ab/x', 'leaf']) await store.put(`${at}/${key}`, Buffer.from(key));
    expect(await store.list(`${at}/a_c`)).toEqual([`${at}/a_c/x`]);
    expect(await store.list(`${at}/a%c`)).toEqual([`${at}/a%c/x`]);
    expect(await store.list(`${at}/a%25c/`)).toEqual([`${at}/a%25c/x`]);
    expect(await store.list(`${at}/a`)).toEqual([`${at}/a/x`]);
    expect(await store.list(`${at}/a//`)).toEqual([`${at}/a/x`]);
    expect(await store.list(`${at}/leaf`)).toEqual([]);
    expect(await store.list(`${at}/a_`)).toEqual([]);
  });

  it('refuses keys that could escape the root, on every operation', async () => {
    const store = blobs();
    for (const key of ['../x', 'a/../../x', '/abs', 'a//b', 'a/./b', 'sp ace', '', 'back\\slash']) {
      await expect(store.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
    }
    for (const prefix of ['../', 'a/../b', 'a//b/', '/abs', 'sp ace/']) {
      await expect(store.list(prefix)).rejects.toBeInstanceOf(InvalidBlobKeyError);
    }
  });
}
