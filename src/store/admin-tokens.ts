/**
 * Admin tokens are stored as SHA-256 hashes only; the plaintext is shown once at creation by the
 * caller (see `src/secrets/` for issuing and hashing).
 */
import type { Selectable } from 'kysely';
import type { Db } from './database.js';
import type { AdminTokensTable } from './schema.js';

export interface AdminTokenRecord {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface NewAdminToken {
  id: string;
  name: string;
  tokenHash: string;
  prefix: string;
}

function toRecord(row: Selectable<AdminTokensTable>): AdminTokenRecord {
  return { id: row.id, name: row.name, prefix: row.prefix, createdAt: row.created_at, revokedAt: row.revoked_at };
}

export class AdminTokenRepository {
  constructor(private readonly db: Db) {}

  async insert(token: NewAdminToken, now: Date): Promise<AdminTokenRecord> {
    const row = await this.db
      .insertInto('admin_tokens')
      .values({ id: token.id, name: token.name, token_hash: token.tokenHash, prefix: token.prefix, created_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }

  /** The live (not revoked) token with this hash, if any. */
  async findActive(tokenHash: string): Promise<AdminTokenRecord | null> {
    const row = await this.db
      .selectFrom('admin_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async list(): Promise<AdminTokenRecord[]> {
    const rows = await this.db.selectFrom('admin_tokens').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toRecord);
  }

  async revoke(id: string, now: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('admin_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
