/**
 * BlobStore in an S3 bucket: one object per blob, under the storage prefix. A put replaces the
 * object whole, so a reader sees the old object or the new one, never half.
 */
import { assertBlobKey, type BlobStore } from './blob-store.js';
import type { S3Requests } from './s3-requests.js';

export class S3BlobStore implements BlobStore {
  constructor(private readonly objects: S3Requests) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    assertBlobKey(key);
    await this.objects.put(key, bytes);
  }

  async get(key: string): Promise<Buffer | null> {
    assertBlobKey(key);
    return this.objects.get(key);
  }

  /** S3 answers a delete the same whether or not the object was there, so ask first. */
  async delete(key: string): Promise<boolean> {
    assertBlobKey(key);
    if (!(await this.objects.exists(key))) return false;
    await this.objects.delete(key);
    return true;
  }

  /** As on the other backends, a prefix names a folder: `a` and `a/` both list what is below `a/`, never `ab/…`. */
  async list(prefix: string): Promise<string[]> {
    const folder = prefix.replace(/\/+$/, '');
    if (folder !== '') assertBlobKey(folder);
    const keys: string[] = [];
    for await (const object of this.objects.list(folder === '' ? '' : `${folder}/`)) keys.push(object.key);
    // S3 lists in UTF-8 byte order already; keys are ASCII, so this sort only guards other servers.
    return keys.sort();
  }
}
