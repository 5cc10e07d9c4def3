/**
 * Sealed secrets at rest: only ciphertext, IV and tag are stored; sealing and opening happen in
 * `src/secrets/`. Nothing here ever sees a plaintext value. A write in a source's scope
 * (`source/<id>`: its webhook secret, its clone token) notifies `sources_change` with that id in
 * the same transaction (source-changes.ts), so every node drops the credential it cached.
 */
import { AuditRepository, type NewAuditEvent } from './audit.js';
import type { Db } from './database.js';
import { inTransaction } from './guards.js';
import { notifySourceChanged, sourceOfSecretScope, sourceSecretScope } from './source-changes.js';
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

/** A scope and the names of the secrets it holds (never values). */
export interface ScopeNames {
  scope: string;
  names: string[];
}

export class SealedSecretRepository {
  constructor(private readonly db: Db) {}

  /** Insert or replace the value at a location; `audit` (never holding the value) commits with it. */
  async put(at: SecretLocation, sealed: SealedValue, now: Date, audit?: NewAuditEvent): Promise<void> {
    const values = {
      ciphertext: sealed.ciphertext,
      iv: sealed.iv,
      tag: sealed.tag,
      key_version: sealed.keyVersion,
      created_at: now,
    };
    await this.inScope(at.scope, async (db) => {
      await db
        .insertInto('sealed_secrets')
        .values({ org_id: at.orgId, scope: at.scope, key: at.key, ...values })
        .onConflict((oc) => oc.columns(['org_id', 'scope', 'key']).doUpdateSet(values))
        .execute();
      return { changed: true, result: undefined };
    }, audit && { event: audit, at: now });
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

  /**
   * The org's scopes with their names, by scope then name in JavaScript string order (the same
   * whatever the database's collation); the internal `source/` scopes (source credentials) are left out.
   */
  async listScopes(orgId: string): Promise<ScopeNames[]> {
    const rows = await this.db
      .selectFrom('sealed_secrets')
      .select(['scope', 'key'])
      .where('org_id', '=', orgId)
      .where('scope', 'not like', `${sourceSecretScope('')}%`)
      .orderBy('scope')
      .orderBy('key')
      .execute();
    const scopes: ScopeNames[] = [];
    for (const row of rows) {
      const last = scopes[scopes.length - 1];
      if (last?.scope === row.scope) last.names.push(row.key);
      else scopes.push({ scope: row.scope, names: [row.key] });
    }
    const byCodePoint = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
    for (const s of scopes) s.names.sort(byCodePoint);
    return scopes.sort((x, y) => byCodePoint(x.scope, y.scope));
  }

  /** `audit` is written only when a value was deleted, in the same transaction. */
  delete(at: SecretLocation, audit?: { event: NewAuditEvent; at: Date }): Promise<boolean> {
    return this.inScope(at.scope, async (db) => {
      const result = await db
        .deleteFrom('sealed_secrets')
        .where('org_id', '=', at.orgId)
        .where('scope', '=', at.scope)
        .where('key', '=', at.key)
        .executeTakeFirst();
      const deleted = result.numDeletedRows > 0n;
      return { changed: deleted, result: deleted };
    }, audit);
  }

  /** Remove every key of a scope (e.g. when a source is deleted). */
  deleteScope(orgId: string, scope: string): Promise<number> {
    return this.inScope(scope, async (db) => {
      const result = await db.deleteFrom('sealed_secrets').where('org_id', '=', orgId).where('scope', '=', scope).executeTakeFirst();
      const count = Number(result.numDeletedRows);
      return { changed: count > 0, result: count };
    });
  }

  /**
   * Run a write in `scope`. When the scope is a source's and the write changed a row, notify
   * `sources_change` with that source's id in the same transaction; other scopes write as before.
   * An `audit` row, when given, is written in that transaction too when the write changed a row.
   */
  private async inScope<T>(
    scope: string,
    write: (db: Db) => Promise<{ changed: boolean; result: T }>,
    audit?: { event: NewAuditEvent; at: Date },
  ): Promise<T> {
    const sourceId = sourceOfSecretScope(scope);
    if (sourceId === null && !audit) return (await write(this.db)).result;
    return inTransaction(this.db, async (trx) => {
      const { changed, result } = await write(trx);
      if (changed && sourceId !== null) await notifySourceChanged(trx, sourceId);
      if (changed && audit) await new AuditRepository(trx).record(audit.event, audit.at);
      return result;
    });
  }
}
