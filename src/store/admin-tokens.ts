/**
 * Admin tokens are stored as SHA-256 hashes only; the plaintext is shown once at creation by the
 * caller (see `src/secrets/` for issuing and hashing). A token's name names one live token (the
 * partial unique index of migration 012) and is who it is in the audit and in reviewer lists.
 *
 * Every creation and revocation writes its audit row in the same transaction as the change: there
 * is no unaudited way to make or revoke a token through this repository.
 */
import { randomBytes } from 'node:crypto';
import type { Selectable, Transaction } from 'kysely';
import { AdminTokenNameTakenError, AdminTokenRevokedError, InvalidAdminTokenNameError, LastAdminTokenError, UnknownAdminTokenError } from './admin-token-errors.js';
import { ADMIN_TOKEN_ID_PREFIX, adminTokenNameProblem } from './admin-token-names.js';
import { type AuditActor, AuditRepository } from './audit.js';
import type { Db } from './database.js';
import { inTransaction } from './guards.js';
import type { AdminTokenRole, AdminTokensTable, StoreSchema } from './schema.js';

export interface AdminTokenRecord {
  id: string;
  name: string;
  prefix: string;
  role: AdminTokenRole;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface NewAdminToken {
  name: string;
  tokenHash: string;
  prefix: string;
  /** Default `admin`. */
  role?: AdminTokenRole;
}

export interface CreateOptions {
  /**
   * Revoke the live token of the same name in the same transaction instead of refusing (the
   * configured bootstrap token replacing its previous value). `why` goes into that revocation's audit row.
   */
  replacing?: { why: string };
  /** Kept in the creation's audit row (e.g. where a start-up token came from). */
  details?: Record<string, unknown>;
}

const LIVE_NAME_INDEX = 'admin_tokens_live_name';

function toRecord(row: Selectable<AdminTokensTable>): AdminTokenRecord {
  return { id: row.id, name: row.name, prefix: row.prefix, role: row.role, createdAt: row.created_at, revokedAt: row.revoked_at };
}

/** `adm_` and 16 hex digits; ids made before migration 012 (`adm_` and 12 uuid characters) stay valid. */
function newTokenId(): string {
  return `${ADMIN_TOKEN_ID_PREFIX}${randomBytes(8).toString('hex')}`;
}

/** pg and PGlite both name the violated index; the message is the fallback. */
function violates(e: unknown, index: string): boolean {
  const error = e as { code?: string; constraint?: string; message?: string };
  return error.code === '23505' && (error.constraint === index || (error.message ?? '').includes(index));
}

export class AdminTokenRepository {
  constructor(private readonly db: Db) {}

  /** Throws InvalidAdminTokenNameError, or AdminTokenNameTakenError while a live token has the name. */
  create(token: NewAdminToken, by: AuditActor, now: Date, options: CreateOptions = {}): Promise<AdminTokenRecord> {
    const problem = adminTokenNameProblem(token.name);
    if (problem) return Promise.reject(new InvalidAdminTokenNameError(token.name, problem));
    return inTransaction(this.db, async (trx) => {
      if (options.replacing) await this.revokeLiveNamed(trx, token.name, by, now, options.replacing.why);
      const row = await this.insert(trx, token, now);
      await new AuditRepository(trx).record(
        { actor: by, action: 'admin_token.create', subject: { id: row.id, name: row.name }, details: { prefix: row.prefix, role: row.role, ...options.details } },
        now,
      );
      return toRecord(row);
    });
  }

  /**
   * Revoke the token with id `ref`, or the live token named `ref`. Every live row is locked first
   * (there are few), so two revocations at once cannot each see the other's token still live and
   * leave none: the second waits, then counts again. Throws UnknownAdminTokenError,
   * AdminTokenRevokedError or LastAdminTokenError.
   */
  revoke(ref: string, by: AuditActor, now: Date): Promise<AdminTokenRecord> {
    return inTransaction(this.db, async (trx) => {
      const live = await trx.selectFrom('admin_tokens').selectAll().where('revoked_at', 'is', null).orderBy('id').forUpdate().execute();
      const target = live.find((t) => t.id === ref) ?? live.find((t) => t.name === ref);
      if (!target) throw await this.whyNotLive(trx, ref);
      // Viewers cannot administer, so only the last live admin is kept from revocation.
      const admins = live.filter((t) => t.role === 'admin');
      if (target.role === 'admin' && admins.length === 1) throw new LastAdminTokenError(target.id, target.name);
      return toRecord(await this.markRevoked(trx, target, by, now, { self: target.id === by.tokenId }));
    });
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

  /** The token with this hash, live or revoked (a revoked configured token is not registered again). */
  async findByHash(tokenHash: string): Promise<AdminTokenRecord | null> {
    const row = await this.db.selectFrom('admin_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async list(): Promise<AdminTokenRecord[]> {
    const rows = await this.db.selectFrom('admin_tokens').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toRecord);
  }

  private async insert(trx: Transaction<StoreSchema>, token: NewAdminToken, now: Date): Promise<Selectable<AdminTokensTable>> {
    try {
      return await trx
        .insertInto('admin_tokens')
        .values({ id: newTokenId(), name: token.name, token_hash: token.tokenHash, prefix: token.prefix, role: token.role ?? 'admin', created_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (e) {
      if (violates(e, LIVE_NAME_INDEX)) throw new AdminTokenNameTakenError(token.name);
      throw e;
    }
  }

  private async revokeLiveNamed(trx: Transaction<StoreSchema>, name: string, by: AuditActor, now: Date, why: string): Promise<void> {
    const previous = await trx.selectFrom('admin_tokens').selectAll().where('name', '=', name).where('revoked_at', 'is', null).forUpdate().executeTakeFirst();
    if (previous) await this.markRevoked(trx, previous, by, now, { reason: why });
  }

  private async markRevoked(
    trx: Transaction<StoreSchema>,
    token: Selectable<AdminTokensTable>,
    by: AuditActor,
    now: Date,
    details: Record<string, unknown>,
  ): Promise<Selectable<AdminTokensTable>> {
    const row = await trx.updateTable('admin_tokens').set({ revoked_at: now }).where('id', '=', token.id).returningAll().executeTakeFirstOrThrow();
    await new AuditRepository(trx).record({ actor: by, action: 'admin_token.revoke', subject: { id: row.id, name: row.name }, details: { prefix: row.prefix, ...details } }, now);
    return row;
  }

  /** `ref` matched no live token: a revoked one by id, or nothing at all. */
  private async whyNotLive(trx: Transaction<StoreSchema>, ref: string): Promise<Error> {
    const revoked = await trx.selectFrom('admin_tokens').select(['id', 'name']).where('id', '=', ref).executeTakeFirst();
    return revoked ? new AdminTokenRevokedError(revoked.id, revoked.name) : new UnknownAdminTokenError(ref);
  }
}
