/**
 * Secret backends (migration 016): the Vault stores secrets can live in besides the database. A row
 * holds the backend's name, type, its sealed configuration (ciphertext, IV, tag, key version: the
 * store never sees the token), the scope filter, whether it is enabled and what its last health
 * check found. Sealing and opening the configuration are the secrets room's
 * (src/secrets/secret-backends.ts).
 *
 * Backends are global, not per organisation (KiCI's are too): one Vault serves every organisation,
 * each under its own `{basePath}/{orgId}/` folder. Creating and removing a backend writes its audit
 * row (`secret_backend.create`, `secret_backend.remove`) in the same transaction; the details are
 * the caller's and never hold a credential. A backend an environment binding still names cannot be
 * removed (SecretBackendInUseError): its jobs would silently stop finding their secrets.
 *
 * The table's row type lives here (`$extendTables`), so nothing is added to the shared schema.
 */
import type { ColumnType, Generated, Selectable } from 'kysely';
import { type AuditActor, AuditRepository } from './audit.js';
import type { Db } from './database.js';
import { inTransaction } from './guards.js';
import type { SealedValue } from './sealed-secrets.js';
import { toBuffer } from './sql-values.js';

export type SecretBackendType = 'pg' | 'vault';
export type SecretBackendHealth = 'unknown' | 'healthy' | 'unhealthy';

export interface SecretBackendsTable {
  id: Generated<string>;
  name: string;
  backend_type: SecretBackendType;
  config_ciphertext: Uint8Array | null;
  config_iv: Uint8Array | null;
  config_tag: Uint8Array | null;
  config_key_version: number | null;
  scope_filter: ColumnType<string, string | undefined, string>;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  health_status: ColumnType<SecretBackendHealth, SecretBackendHealth | undefined, SecretBackendHealth>;
  last_health_check_at: Date | null;
  last_error: string | null;
  created_at: ColumnType<Date, Date | undefined, Date>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

// The binding rows (migration 015) are read, never written, to refuse removing a backend in use.
interface BindingRowsTable {
  org_id: string;
  environment_id: string;
  backend: string | null;
}

// Type aliases, not interfaces: `$extendTables` wants record types.
type BackendTables = { secret_backends: SecretBackendsTable };
type RemovalTables = BackendTables & { environment_bindings: BindingRowsTable };

export interface SecretBackendRecord {
  id: string;
  name: string;
  type: SecretBackendType;
  /** The sealed configuration (null only for a hand-written `pg` row, which is ignored). */
  config: SealedValue | null;
  /** A picomatch glob over scope paths: the scopes of this backend bindings may reach. */
  scopeFilter: string;
  enabled: boolean;
  healthStatus: SecretBackendHealth;
  lastHealthCheckAt: Date | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewSecretBackend {
  name: string;
  type: 'vault';
  config: SealedValue;
  scopeFilter?: string;
  enabled?: boolean;
  /** What the audit row says of the backend (its URL, mount…): never a token or secret id. */
  auditDetails: Record<string, unknown>;
}

/** A backend of this name exists already. */
export class SecretBackendExistsError extends Error {
  constructor(readonly backendName: string) {
    super(`a secret backend named ${backendName} exists already`);
    this.name = 'SecretBackendExistsError';
  }
}

/** Environment bindings still name the backend; unbind them first. */
export class SecretBackendInUseError extends Error {
  constructor(
    readonly backendName: string,
    /** `<org>/<environment>` of each binding naming it, sorted. */
    readonly boundBy: string[],
  ) {
    super(`secret backend ${backendName} is named by ${boundBy.length} environment binding${boundBy.length === 1 ? '' : 's'} (${boundBy.join(', ')}); unbind them first (kici-admin env unbind <env> <pattern> --backend ${backendName})`);
    this.name = 'SecretBackendInUseError';
  }
}

const isUniqueViolation = (e: unknown) => (e as { code?: string }).code === '23505';

function toRecord(row: Selectable<SecretBackendsTable>): SecretBackendRecord {
  const sealed =
    row.config_ciphertext && row.config_iv && row.config_tag && row.config_key_version !== null
      ? { ciphertext: toBuffer(row.config_ciphertext), iv: toBuffer(row.config_iv), tag: toBuffer(row.config_tag), keyVersion: row.config_key_version }
      : null;
  return {
    id: row.id,
    name: row.name,
    type: row.backend_type,
    config: sealed,
    scopeFilter: row.scope_filter,
    enabled: row.enabled,
    healthStatus: row.health_status,
    lastHealthCheckAt: row.last_health_check_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class SecretBackendRepository {
  constructor(private readonly db: Db) {}

  /** Add a backend with its audit row. Throws SecretBackendExistsError when the name is taken. */
  async create(input: NewSecretBackend, by: AuditActor, now: Date): Promise<SecretBackendRecord> {
    try {
      return await inTransaction(this.db, async (trx) => {
        const row = await trx
          .$extendTables<BackendTables>()
          .insertInto('secret_backends')
          .values({
            name: input.name,
            backend_type: input.type,
            config_ciphertext: input.config.ciphertext,
            config_iv: input.config.iv,
            config_tag: input.config.tag,
            config_key_version: input.config.keyVersion,
            scope_filter: input.scopeFilter ?? '**',
            enabled: input.enabled ?? true,
            last_health_check_at: null,
            last_error: null,
            created_at: now,
            updated_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const record = toRecord(row);
        await new AuditRepository(trx).record(
          { actor: by, action: 'secret_backend.create', subject: { id: record.id, name: record.name }, details: { ...input.auditDetails, name: record.name, type: record.type, scopeFilter: record.scopeFilter } },
          now,
        );
        return record;
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new SecretBackendExistsError(input.name);
      throw e;
    }
  }

  /** Every backend, by name. */
  async list(): Promise<SecretBackendRecord[]> {
    const rows = await this.backends().selectFrom('secret_backends').selectAll().orderBy('name').execute();
    return rows.map(toRecord);
  }

  /** The enabled backends of a type (the dispatch read), by name. */
  async listEnabled(type: 'vault'): Promise<SecretBackendRecord[]> {
    const rows = await this.backends().selectFrom('secret_backends').selectAll().where('backend_type', '=', type).where('enabled', '=', true).orderBy('name').execute();
    return rows.map(toRecord);
  }

  async get(name: string): Promise<SecretBackendRecord | null> {
    const row = await this.backends().selectFrom('secret_backends').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  /**
   * Remove a backend with its audit row; null when there is none. Throws SecretBackendInUseError
   * while an environment binding names it.
   */
  remove(name: string, by: AuditActor, now: Date, auditDetails: Record<string, unknown> = {}): Promise<SecretBackendRecord | null> {
    return inTransaction(this.db, async (trx) => {
      const db = trx.$extendTables<RemovalTables>();
      const row = await db.selectFrom('secret_backends').selectAll().where('name', '=', name).forUpdate().executeTakeFirst();
      if (!row) return null;
      const bound = await db
        .selectFrom('environment_bindings as b')
        .innerJoin('environments as e', 'e.id', 'b.environment_id')
        .select(['b.org_id', 'e.name'])
        .where('b.backend', '=', name)
        .execute();
      if (bound.length > 0) {
        const labels = [...new Set(bound.map((b) => `${b.org_id}/${b.name}`))].sort();
        throw new SecretBackendInUseError(name, labels);
      }
      await db.deleteFrom('secret_backends').where('id', '=', row.id).execute();
      const record = toRecord(row);
      await new AuditRepository(trx).record(
        { actor: by, action: 'secret_backend.remove', subject: { id: record.id, name: record.name }, details: { ...auditDetails, name: record.name, type: record.type } },
        now,
      );
      return record;
    });
  }

  /** What a health check found; false when the backend is gone. */
  async recordHealth(name: string, health: { status: SecretBackendHealth; error: string | null }, at: Date): Promise<boolean> {
    const result = await this.backends()
      .updateTable('secret_backends')
      .set({ health_status: health.status, last_error: health.error, last_health_check_at: at })
      .where('name', '=', name)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  private backends() {
    return this.db.$extendTables<BackendTables>();
  }
}
