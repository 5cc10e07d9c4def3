/**
 * BlobStore on the local filesystem, under `<dataDir>/blobs`. Writes go to a temporary sibling and
 * are renamed into place, so a reader never sees half an object.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assertBlobKey, type BlobStore } from './blob-store.js';

const TEMP_MARK = '.tmp-';

/** Folders this store made or found, so a put into one skips its mkdir; bounded, as keys name many. */
const KNOWN_FOLDERS_MAX = 1024;

export class FilesystemBlobStore implements BlobStore {
  private readonly knownFolders = new Set<string>();

  constructor(readonly root: string) {}

  private pathOf(key: string): string {
    assertBlobKey(key);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    const folder = dirname(path);
    const known = this.knownFolders.has(folder);
    if (!known) await this.makeFolder(folder);
    try {
      await writeInPlace(path, bytes);
    } catch (error) {
      // A folder this store knew was removed behind its back (by hand, by a cleanup): make it again.
      if (!known || !isMissing(error)) throw error;
      this.knownFolders.delete(folder);
      await this.makeFolder(folder);
      await writeInPlace(path, bytes);
    }
  }

  private async makeFolder(folder: string): Promise<void> {
    await mkdir(folder, { recursive: true });
    if (this.knownFolders.size >= KNOWN_FOLDERS_MAX) this.knownFolders.clear();
    this.knownFolders.add(folder);
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(key));
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    try {
      await rm(path);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const trimmed = prefix.replace(/\/+$/, '');
    if (trimmed !== '') assertBlobKey(trimmed);
    const base = trimmed === '' ? this.root : join(this.root, ...trimmed.split('/'));
    const keys: string[] = [];
    await walk(base, trimmed, keys);
    return keys.sort();
  }
}

async function walk(dir: string, keyPrefix: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw error;
  }
  for (const entry of entries) {
    const key = keyPrefix === '' ? entry.name : `${keyPrefix}/${entry.name}`;
    if (entry.isDirectory()) await walk(join(dir, entry.name), key, out);
    else if (entry.isFile() && !entry.name.includes(TEMP_MARK)) out.push(key);
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Written to a temporary sibling and renamed into place, so a reader never sees half an object. */
async function writeInPlace(path: string, bytes: Uint8Array): Promise<void> {
  const temp = `${path}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(temp, bytes);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
