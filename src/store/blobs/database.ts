/**
 * BlobStore in the database (`blobs`), for orchestrators that share one PostgreSQL and no
 * filesystem. A put is one upsert, so a reader sees the old object or the new one, never half.
 */
import { sql } from 'kysely';
import type { Db } from '../database.js';
import { toBuffer } from '../sql-values.js';
import { assertBlobKey, type BlobStore } from './blob-store.js';

export class DatabaseBlobStore implements BlobStore {
  constructor(private readonly db: Db) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    assertBlobKey(key);
    const value = toBuffer(bytes);
    await this.db
      .insertInto('blobs')
      .values({ key, bytes: value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ bytes: value, updated_at: sql<Date>`now()` }))
      .execute();
  }

  async get(key: string): Promise<Buffer | null> {
    assertBlobKey(key);
    const row = await this.db.selectFrom('blobs').select('bytes').where('key', '=', key).executeTakeFirst();
    return row ? toBuffer(row.bytes) : null;
  }

  async delete(key: string): Promise<boolean> {
    assertBlobKey(key);
    const result = await this.db.deleteFrom('blobs').where('key', '=', key).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** As on the filesystem, a prefix names a folder: `a` and `a/` both list what is below `a/`, never `ab/…`. */
  async list(prefix: string): Promise<string[]> {
    const folder = prefix.replace(/\/+$/, '');
    let query = this.db.selectFrom('blobs').select('key').orderBy('key');
    if (folder !== '') {
      assertBlobKey(folder);
      query = query.where(sql<boolean>`key LIKE ${`${likeLiteral(folder)}/%`} ESCAPE '!'`);
    }
    return (await query.execute()).map((row) => row.key);
  }
}

/**
 * `text` matched literally by LIKE: keys may hold `%` (keySegment's escapes) and `_`. The escape is
 * `!`, which keys cannot hold, rather than a backslash, whose meaning in a string literal depends on
 * the server's standard_conforming_strings.
 */
function likeLiteral(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}
