/**
 * Environment bindings (migration 015): which secret scopes an environment reaches. A binding is a
 * scope pattern (a picomatch glob over scope paths, or one exact path) and, optionally, the backend
 * it is limited to (null: any backend). What they mean at dispatch is the secrets room's
 * (src/secrets/scope-resolution.ts); here they are rows, checked by the caller before they come.
 *
 * Every bind and unbind writes its audit row (`environment.bind`, `environment.unbind`) in the same
 * transaction as the change: there is no unaudited way to bind through this repository.
 *
 * The table's row type lives here with the repository (`$extendTables`), so the binding rows need
 * nothing from the shared schema file.
 */
import type { ColumnType, Generated, Selectable } from 'kysely';
import { type AuditActor, AuditRepository } from './audit.js';
import type { Db } from './database.js';
import { inTransaction } from './guards.js';

export interface EnvironmentBindingsTable {
  id: Generated<string>;
  org_id: string;
  environment_id: string;
  scope_pattern: string;
  backend: string | null;
  created_at: ColumnType<Date, Date | undefined, Date>;
}

// A type alias, not an interface: `$extendTables` wants a record type.
type BindingTables = { environment_bindings: EnvironmentBindingsTable };

export interface EnvironmentBinding {
  id: string;
  orgId: string;
  environmentId: string;
  /** A picomatch glob over scope paths (`aws/**`), or an exact scope path (`aws/prod`). */
  scopePattern: string;
  /** The backend the binding is limited to; null: any backend. */
  backend: string | null;
  createdAt: Date;
}

export interface NewEnvironmentBinding {
  /** The environment bound (its name goes into the audit row). */
  environment: { id: string; orgId: string; name: string };
  scopePattern: string;
  backend: string | null;
}

/** The environment already has this (pattern, backend) binding. */
export class EnvironmentBindingExistsError extends Error {
  constructor(
    readonly environmentName: string,
    readonly scopePattern: string,
    readonly backend: string | null,
  ) {
    super(`environment ${environmentName} is already bound to ${backend === null ? '' : `${backend}:`}${scopePattern}`);
    this.name = 'EnvironmentBindingExistsError';
  }
}

/** The id column is a uuid: anything else names no binding (and must not reach PostgreSQL as one). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const isUniqueViolation = (e: unknown) => (e as { code?: string }).code === '23505';
const isForeignKeyViolation = (e: unknown) => (e as { code?: string }).code === '23503';

function toBinding(row: Selectable<EnvironmentBindingsTable>): EnvironmentBinding {
  return {
    id: row.id,
    orgId: row.org_id,
    environmentId: row.environment_id,
    scopePattern: row.scope_pattern,
    backend: row.backend,
    createdAt: row.created_at,
  };
}

export class EnvironmentBindingRepository {
  constructor(private readonly db: Db) {}

  /**
   * Bind; null when the environment is gone (deleted meanwhile). Throws
   * EnvironmentBindingExistsError when the environment has this pattern for this backend already.
   */
  async create(input: NewEnvironmentBinding, by: AuditActor, now: Date): Promise<EnvironmentBinding | null> {
    const { environment } = input;
    try {
      return await inTransaction(this.db, async (trx) => {
        const row = await trx
          .$extendTables<BindingTables>()
          .insertInto('environment_bindings')
          .values({ org_id: environment.orgId, environment_id: environment.id, scope_pattern: input.scopePattern, backend: input.backend, created_at: now })
          .returningAll()
          .executeTakeFirstOrThrow();
        const binding = toBinding(row);
        await auditBinding(trx, 'environment.bind', binding, environment, by, now);
        return binding;
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new EnvironmentBindingExistsError(environment.name, input.scopePattern, input.backend);
      if (isForeignKeyViolation(e)) return null;
      throw e;
    }
  }

  /** An environment's bindings, oldest first. */
  async list(environmentId: string): Promise<EnvironmentBinding[]> {
    if (!UUID.test(environmentId)) return [];
    const rows = await this.bindings()
      .selectFrom('environment_bindings')
      .selectAll()
      .where('environment_id', '=', environmentId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toBinding);
  }

  /**
   * The bindings of these environments of the org (a job's), oldest first per environment; ids
   * that are not the org's environments contribute nothing.
   */
  async listForEnvironments(orgId: string, environmentIds: readonly string[]): Promise<EnvironmentBinding[]> {
    const ids = [...new Set(environmentIds.filter((id) => UUID.test(id)))];
    if (ids.length === 0) return [];
    const rows = await this.bindings()
      .selectFrom('environment_bindings')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('environment_id', 'in', ids)
      .orderBy('environment_id')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toBinding);
  }

  async get(id: string): Promise<EnvironmentBinding | null> {
    if (!UUID.test(id)) return null;
    const row = await this.bindings().selectFrom('environment_bindings').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toBinding(row) : null;
  }

  /** Unbind the environment's binding `id`; null when it has no such binding. */
  delete(id: string, environment: { id: string; orgId: string; name: string }, by: AuditActor, now: Date): Promise<EnvironmentBinding | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return inTransaction(this.db, async (trx) => {
      const row = await trx
        .$extendTables<BindingTables>()
        .deleteFrom('environment_bindings')
        .where('id', '=', id)
        .where('environment_id', '=', environment.id)
        .returningAll()
        .executeTakeFirst();
      if (!row) return null;
      const binding = toBinding(row);
      await auditBinding(trx, 'environment.unbind', binding, environment, by, now);
      return binding;
    });
  }

  private bindings() {
    return this.db.$extendTables<BindingTables>();
  }
}

/** The audit row of a bind or unbind, written in the change's own transaction. */
async function auditBinding(
  trx: Db,
  action: 'environment.bind' | 'environment.unbind',
  binding: EnvironmentBinding,
  environment: { id: string; orgId: string; name: string },
  by: AuditActor,
  now: Date,
): Promise<void> {
  await new AuditRepository(trx).record(
    {
      actor: by,
      action,
      subject: { id: binding.id, name: environment.name },
      details: { environment: environment.name, environmentId: environment.id, scopePattern: binding.scopePattern, backend: binding.backend },
      orgId: environment.orgId,
    },
    now,
  );
}
