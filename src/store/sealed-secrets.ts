/**
 * Sealed secrets at rest: only ciphertext, IV and tag are stored; sealing and opening happen in
 * `src/secrets/`. Nothing here ever sees a plaintext value.
 */
import type { Db } from './database.js';
import { toBuffer } from './sql-values.js';

export interface SealedValue {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
  keyVersion: number;
}

export interface SecretLocation {
  orgId: string;
  /** e.g. `source/<sourceId>` */
  scope: string;
  /** e.g. `webhookSecret`, `token` */
  key: string;
}

export class SealedSecretRepository {
  constructor(private readonly db: Db) {}

  /** Insert or replace the value at a location. */
  async put(at: SecretLocation, sealed: SealedValue, now: Date): Promise<void> {
    const values = {
      ciphertext: sealed.ciphertext,
      iv: sealed.iv,
      tag: sealed.tag,
      key_version: sealed.keyVersion,
      created_at: now,
    };
    await this.db
      .insertInto('sealed_secrets')
      .values({ org_id: at.orgId, scope: at.scope, key: at.key, ...values })
      .onConflict((oc) => oc.columns(['org_id', 'scope', 'key']).doUpdateSet(values))
      .execute();
  }

  async get(at: SecretLocation): Promise<SealedValue | null> {
    const row = await this.db
      .selectFrom('sealed_secrets')
      .select(['ciphertext', 'iv', 'tag', 'key_version'])
      .where('org_id', '=', at.orgId)
      .where('scope', '=', at.scope)
      .where('key', '=', at.key)
      .executeTakeFirst();
    if (!row) return null;
    return {
      ciphertext: toBuffer(row.ciphertext),
      iv: toBuffer(row.iv),
      tag: toBuffer(row.tag),
      keyVersion: row.key_version,
    };
  }

  /** Key names in a scope (never values). */
  async listKeys(orgId: string, scope: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('sealed_secrets')
      .select('key')
      .where('org_id', '=', orgId)
      .where('scope', '=', scope)
      .orderBy('key')
      .execute();
    return rows.map((r) => r.key);
  }

  async delete(at: SecretLocation): Promise<boolean> {
    const result = await this.db
      .deleteFrom('sealed_secrets')
      .where('org_id', '=', at.orgId)
      .where('scope', '=', at.scope)
      .where('key', '=', at.key)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Remove every key of a scope (e.g. when a source is deleted). */
  async deleteScope(orgId: string, scope: string): Promise<number> {
    const result = await this.db
      .deleteFrom('sealed_secrets')
      .where('org_id', '=', orgId)
      .where('scope', '=', scope)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
