/**
 * The filesystem blob store remembers the folders it made, so a put into one skips its mkdir; a
 * folder removed behind its back (by hand, by a cleanup) is made again, and the put still lands.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FilesystemBlobStore } from '../../../src/store/index.js';

const root = mkdtempSync(path.join(tmpdir(), 'kici-fs-blobs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('a folder removed after a put is made again by the next put into it', async () => {
  const blobs = new FilesystemBlobStore(root);
  await blobs.put('event-log/acme/one.json.gz', Buffer.from('one'));
  rmSync(path.join(root, 'event-log'), { recursive: true });
  await blobs.put('event-log/acme/two.json.gz', Buffer.from('two'));
  expect((await blobs.get('event-log/acme/two.json.gz'))?.toString()).toBe('two');
  expect(await blobs.get('event-log/acme/one.json.gz')).toBeNull();
  // Nothing half-written is left beside it.
  expect(await blobs.list('event-log/acme')).toEqual(['event-log/acme/two.json.gz']);
});
