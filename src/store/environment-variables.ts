/**
 * Environments' variables and per-source overrides (migration 011: `environment_variables`,
 * `environment_source_overrides`). Writes are upserts on the tables' unique keys; removals answer
 * whether a row was there. `forEnvironments` is the dispatch read: every environment a job names,
 * with the overrides of the job's source, in two queries whatever the number of environments.
 *
 * Rows carry the environment's org: the foreign key (org_id, environment_id) refuses a row naming
 * another org's environment, and a write racing the environment's delete fails on it (answered as
 * `null`, "no such environment"). The checks on names and values are the environments room's
 * (`variableKeySchema`, `variableValueSchema`), run by the admin API; the table keeps only its own
 * CHECKs, so rows written by hand are read back as they are (`variablesOf` leaves bad names out).
 */
import { sql } from 'kysely';
import type { EnvironmentVariable, EnvironmentVariableSet, SourceOverride } from '../environments/index.js';
import type { Db } from './database.js';

/** A variable as stored: with its environment and timestamps. */
export interface StoredVariable extends EnvironmentVariable {
  environmentId: string;
  createdAt: Date;
  updatedAt: Date;
}

/** An override as stored: with its environment and timestamps. */
export interface StoredOverride extends SourceOverride {
  environmentId: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The environment a write goes to: its id and org (the row's foreign key wants both). */
export interface VariableOwner {
  id: string;
  orgId: string;
}

export interface SetVariable {
  key: string;
  value: string;
  /** Absent: a new variable is unlocked, an existing one keeps its lock. */
  locked?: boolean;
}

/** The result of an upsert: the row, and whether it was new. */
export interface Upserted<T> {
  row: T;
  created: boolean;
}

/** The id column is a uuid: anything else names no environment (and must not reach PostgreSQL as one). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const isForeignKeyViolation = (e: unknown) => (e as { code?: string }).code === '23503';

interface VariableRow {
  environment_id: string;
  key: string;
  value: string;
  locked: boolean;
  created_at: Date;
  updated_at: Date;
}

interface OverrideRow {
  environment_id: string;
  routing_key: string;
  key: string;
  value: string;
  created_at: Date;
  updated_at: Date;
}

const toVariable = (r: VariableRow): StoredVariable => ({
  environmentId: r.environment_id,
  key: r.key,
  value: r.value,
  locked: r.locked,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toOverride = (r: OverrideRow): StoredOverride => ({
  environmentId: r.environment_id,
  routingKey: r.routing_key,
  key: r.key,
  value: r.value,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const VARIABLE_COLUMNS = ['environment_id', 'key', 'value', 'locked', 'created_at', 'updated_at'] as const;
const OVERRIDE_COLUMNS = ['environment_id', 'routing_key', 'key', 'value', 'created_at', 'updated_at'] as const;

/** `xmax = 0` on the row an upsert returns: it was inserted, not updated. */
const inserted = sql<boolean>`(xmax = 0)`.as('inserted');

export class EnvironmentVariableRepository {
  constructor(private readonly db: Db) {}

  /** Set a variable (insert or replace its value); null when the environment no longer exists. */
  async setVariable(env: VariableOwner, input: SetVariable, now: Date): Promise<Upserted<StoredVariable> | null> {
    if (!UUID.test(env.id)) return null;
    const { locked } = input;
    try {
      const row = await this.db
        .insertInto('environment_variables')
        .values({ org_id: env.orgId, environment_id: env.id, key: input.key, value: input.value, locked: locked ?? false, created_at: now, updated_at: now })
        .onConflict((oc) =>
          oc.columns(['environment_id', 'key']).doUpdateSet((eb) => ({
            value: eb.ref('excluded.value'),
            updated_at: now,
            ...(locked !== undefined && { locked }),
          })),
        )
        .returning([...VARIABLE_COLUMNS, inserted])
        .executeTakeFirstOrThrow();
      return { row: toVariable(row), created: row.inserted };
    } catch (e) {
      if (isForeignKeyViolation(e)) return null;
      throw e;
    }
  }

  /** Remove a variable; false when it was not there. */
  async unsetVariable(environmentId: string, key: string): Promise<boolean> {
    if (!UUID.test(environmentId)) return false;
    const result = await this.db.deleteFrom('environment_variables').where('environment_id', '=', environmentId).where('key', '=', key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async getVariable(environmentId: string, key: string): Promise<StoredVariable | null> {
    if (!UUID.test(environmentId)) return null;
    const row = await this.db.selectFrom('environment_variables').select(VARIABLE_COLUMNS).where('environment_id', '=', environmentId).where('key', '=', key).executeTakeFirst();
    return row ? toVariable(row) : null;
  }

  /** An environment's variables, by key. */
  async listVariables(environmentId: string): Promise<StoredVariable[]> {
    if (!UUID.test(environmentId)) return [];
    const rows = await this.db.selectFrom('environment_variables').select(VARIABLE_COLUMNS).where('environment_id', '=', environmentId).orderBy('key').execute();
    return rows.map(toVariable);
  }

  /** Set one source's override of a key (stored even when the key is locked: it applies once unlocked); null when the environment no longer exists. */
  async setOverride(env: VariableOwner, input: SourceOverride, now: Date): Promise<Upserted<StoredOverride> | null> {
    if (!UUID.test(env.id)) return null;
    try {
      const row = await this.db
        .insertInto('environment_source_overrides')
        .values({ org_id: env.orgId, environment_id: env.id, routing_key: input.routingKey, key: input.key, value: input.value, created_at: now, updated_at: now })
        .onConflict((oc) => oc.columns(['environment_id', 'routing_key', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: now })))
        .returning([...OVERRIDE_COLUMNS, inserted])
        .executeTakeFirstOrThrow();
      return { row: toOverride(row), created: row.inserted };
    } catch (e) {
      if (isForeignKeyViolation(e)) return null;
      throw e;
    }
  }

  /** Remove one source's override of a key; false when it was not there. */
  async unsetOverride(environmentId: string, routingKey: string, key: string): Promise<boolean> {
    if (!UUID.test(environmentId)) return false;
    const result = await this.db
      .deleteFrom('environment_source_overrides')
      .where('environment_id', '=', environmentId)
      .where('routing_key', '=', routingKey)
      .where('key', '=', key)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** An environment's overrides, of one source or of all, by source then key. */
  async listOverrides(environmentId: string, routingKey?: string): Promise<StoredOverride[]> {
    if (!UUID.test(environmentId)) return [];
    let query = this.db.selectFrom('environment_source_overrides').select(OVERRIDE_COLUMNS).where('environment_id', '=', environmentId);
    if (routingKey !== undefined) query = query.where('routing_key', '=', routingKey);
    const rows = await query.orderBy('routing_key').orderBy('key').execute();
    return rows.map(toOverride);
  }

  /**
   * The dispatch read: for each environment id, its variables and the overrides of the source
   * `routingKey` (none when null), keys in order. Every id asked for has an entry (empty when the
   * environment has nothing, or is gone). Two queries at most, one when `routingKey` is null.
   */
  async forEnvironments(environmentIds: readonly string[], routingKey: string | null): Promise<Map<string, EnvironmentVariableSet>> {
    const sets = new Map<string, EnvironmentVariableSet>();
    // PostgreSQL answers ids in lower case; the map is keyed as the caller spelt them.
    const byId = new Map<string, EnvironmentVariableSet>();
    for (const id of environmentIds) {
      const set = byId.get(id.toLowerCase()) ?? { variables: [], overrides: [] };
      sets.set(id, set);
      if (UUID.test(id)) byId.set(id.toLowerCase(), set);
    }
    const ids = [...byId.keys()];
    if (ids.length === 0) return sets;
    const variables = await this.db
      .selectFrom('environment_variables')
      .select(['environment_id', 'key', 'value', 'locked'])
      .where('environment_id', 'in', ids)
      .orderBy('environment_id')
      .orderBy('key')
      .execute();
    for (const v of variables) byId.get(v.environment_id)?.variables.push({ key: v.key, value: v.value, locked: v.locked });
    if (routingKey === null) return sets;
    const overrides = await this.db
      .selectFrom('environment_source_overrides')
      .select(['environment_id', 'routing_key', 'key', 'value'])
      .where('environment_id', 'in', ids)
      .where('routing_key', '=', routingKey)
      .orderBy('environment_id')
      .orderBy('key')
      .execute();
    for (const o of overrides) byId.get(o.environment_id)?.overrides.push({ routingKey: o.routing_key, key: o.key, value: o.value });
    return sets;
  }
}
