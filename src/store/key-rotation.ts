/**
 * Master-key rotation, the store's part: which key versions the sealed values were sealed with,
 * and re-sealed values written back in batches. Sealing and opening stay in `src/secrets/`; nothing
 * here sees a plaintext value.
 *
 * The tables holding sealed values: `sealed_secrets` (source credentials, secret scopes) and
 * `secret_backends` (Vault configurations). A table added later that seals values joins SEALED_TABLES.
 *
 * A re-sealed value is written only where the row still holds exactly what was read (its key
 * version and its IV, which is random per seal): a value written meanwhile (under the new key by a
 * restarted node, or under the old key by one not restarted yet) is never overwritten with the
 * older value, only left for the next pass.
 */
import { sql } from 'kysely';
import { AuditRepository, type NewAuditEvent } from './audit.js';
import type { Db } from './database.js';
import { inTransaction } from './guards.js';
import type { SealedValue } from './sealed-secrets.js';
import { toBuffer } from './sql-values.js';

export const SEALED_TABLES = ['sealed_secrets', 'secret_backends'] as const;
export type SealedTable = (typeof SEALED_TABLES)[number];

/** How many values of a table one key version sealed. */
export interface KeyVersionCount {
  table: SealedTable;
  keyVersion: number;
  count: number;
}

/** Where a sealed value lives: what its associated data is made from. */
export type SealedRowLocation =
  | { table: 'sealed_secrets'; orgId: string; scope: string; key: string }
  | { table: 'secret_backends'; id: string; name: string };

export interface SealedRow {
  at: SealedRowLocation;
  sealed: SealedValue;
}

/** Pass to `sealedOtherThan` to continue after the last row of the previous batch. */
export type SealedRowCursor = SealedRowLocation;

// The backends table's row type is declared in secret-backends.ts; the few columns used here are enough.
type BackendTables = {
  secret_backends: { id: string; name: string; config_ciphertext: Uint8Array | null; config_iv: Uint8Array | null; config_tag: Uint8Array | null; config_key_version: number | null; updated_at: Date };
};

export class KeyRotationRepository {
  constructor(private readonly db: Db) {}

  /** One grouped query per table: the cheap check a start makes. */
  async countsByKeyVersion(): Promise<KeyVersionCount[]> {
    const secrets = await this.db
      .selectFrom('sealed_secrets')
      .select(['key_version', (eb) => eb.fn.countAll<string | number | bigint>().as('n')])
      .groupBy('key_version')
      .execute();
    const backends = await this.db
      .$extendTables<BackendTables>()
      .selectFrom('secret_backends')
      .select(['config_key_version', (eb) => eb.fn.countAll<string | number | bigint>().as('n')])
      .where('config_key_version', 'is not', null)
      .groupBy('config_key_version')
      .execute();
    return [
      ...secrets.map((r) => ({ table: 'sealed_secrets' as const, keyVersion: r.key_version, count: Number(r.n) })),
      ...backends.map((r) => ({ table: 'secret_backends' as const, keyVersion: r.config_key_version!, count: Number(r.n) })),
    ].sort((a, b) => a.table.localeCompare(b.table) || a.keyVersion - b.keyVersion);
  }

  /** One value of `table` sealed with `keyVersion` (to try the keys on), or null. */
  async sampleSealedWith(table: SealedTable, keyVersion: number): Promise<SealedRow | null> {
    const rows = await this.rows(table, { keyVersion, equal: true, limit: 1 });
    return rows[0] ?? null;
  }

  /** Up to `limit` values of `table` not sealed with `keyVersion`, in key order, after `after`. */
  sealedOtherThan(table: SealedTable, keyVersion: number, limit: number, after?: SealedRowCursor): Promise<SealedRow[]> {
    return this.rows(table, { keyVersion, equal: false, limit, after });
  }

  /**
   * Write re-sealed values in one transaction, each only where its row still holds what was read
   * (`from`: same key version and IV). Returns how many were written; the rest changed meanwhile.
   * `audit`, when given, commits in the same transaction.
   */
  async reseal(changes: { from: SealedRow; to: SealedValue }[], audit?: { event: NewAuditEvent; at: Date }): Promise<number> {
    if (changes.length === 0 && !audit) return 0;
    return inTransaction(this.db, async (trx) => {
      let written = 0;
      for (const { from, to } of changes) written += await resealOne(trx, from, to);
      if (audit) await new AuditRepository(trx).record(audit.event, audit.at);
      return written;
    });
  }

  private async rows(table: SealedTable, q: { keyVersion: number; equal: boolean; limit: number; after?: SealedRowCursor }): Promise<SealedRow[]> {
    const op = q.equal ? '=' : '<>';
    if (table === 'sealed_secrets') {
      const after = q.after?.table === 'sealed_secrets' ? q.after : undefined;
      const rows = await this.db
        .selectFrom('sealed_secrets')
        .select(['org_id', 'scope', 'key', 'ciphertext', 'iv', 'tag', 'key_version'])
        .where('key_version', op, q.keyVersion)
        .$if(after !== undefined, (qb) => qb.where(sql<boolean>`(org_id, scope, key) > (${after!.orgId}, ${after!.scope}, ${after!.key})`))
        .orderBy('org_id')
        .orderBy('scope')
        .orderBy('key')
        .limit(q.limit)
        .execute();
      return rows.map((r) => ({
        at: { table, orgId: r.org_id, scope: r.scope, key: r.key },
        sealed: { ciphertext: toBuffer(r.ciphertext), iv: toBuffer(r.iv), tag: toBuffer(r.tag), keyVersion: r.key_version },
      }));
    }
    const after = q.after?.table === 'secret_backends' ? q.after : undefined;
    const rows = await this.db
      .$extendTables<BackendTables>()
      .selectFrom('secret_backends')
      .select(['id', 'name', 'config_ciphertext', 'config_iv', 'config_tag', 'config_key_version'])
      .where('config_key_version', 'is not', null)
      .where('config_key_version', op, q.keyVersion)
      .$if(after !== undefined, (qb) => qb.where('id', '>', after!.id))
      .orderBy('id')
      .limit(q.limit)
      .execute();
    return rows.map((r) => ({
      at: { table, id: r.id, name: r.name },
      sealed: { ciphertext: toBuffer(r.config_ciphertext!), iv: toBuffer(r.config_iv!), tag: toBuffer(r.config_tag!), keyVersion: r.config_key_version! },
    }));
  }
}

async function resealOne(db: Db, from: SealedRow, to: SealedValue): Promise<number> {
  const at = from.at;
  if (at.table === 'sealed_secrets') {
    // created_at is kept: the value is the same one, only its envelope changed.
    const result = await db
      .updateTable('sealed_secrets')
      .set({ ciphertext: to.ciphertext, iv: to.iv, tag: to.tag, key_version: to.keyVersion })
      .where('org_id', '=', at.orgId)
      .where('scope', '=', at.scope)
      .where('key', '=', at.key)
      .where('key_version', '=', from.sealed.keyVersion)
      .where('iv', '=', from.sealed.iv)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
  const result = await db
    .$extendTables<BackendTables>()
    .updateTable('secret_backends')
    .set({ config_ciphertext: to.ciphertext, config_iv: to.iv, config_tag: to.tag, config_key_version: to.keyVersion })
    .where('id', '=', at.id)
    .where('config_key_version', '=', from.sealed.keyVersion)
    .where('config_iv', '=', from.sealed.iv)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
