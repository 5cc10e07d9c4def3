/**
 * Environments (migration 011): the environments room's EnvironmentStore over the database. The
 * room's own checks run before every write (`newEnvironmentShape`, `changedEnvironmentShape`),
 * so a broken rule is refused the same way here as in memory; the table's CHECKs stay as the
 * guard against hand-written SQL. Changes read the row under a write lock first, so two
 * concurrent updates merge onto each other instead of one undoing the other.
 */
import type { Selectable } from 'kysely';
import {
  changedEnvironmentShape,
  type Environment,
  type EnvironmentChanges,
  EnvironmentDeleteBlockedError,
  EnvironmentNameTakenError,
  type EnvironmentShape,
  type EnvironmentStore,
  newEnvironmentShape,
  type NewEnvironment,
  shapeOf,
} from '../environments/index.js';
import type { Db } from './database.js';
import { inTransaction } from './guards.js';
import type { EnvironmentsTable } from './schema.js';
import { jsonb } from './sql-values.js';

/** The id column is a uuid: anything else names no environment (and must not reach PostgreSQL as one). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toEnvironment(row: Selectable<EnvironmentsTable>): Environment {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    type: row.type,
    globPattern: row.glob_pattern,
    enabled: row.enabled,
    branchRestrictions: [...row.branch_restrictions],
    triggerTypeFilters: [...row.trigger_type_filters],
    repoPatterns: [...row.repo_patterns],
    minimumTrust: row.minimum_trust,
    requiredReviewers: [...row.required_reviewers],
    waitTimerSeconds: row.wait_timer_seconds,
    concurrencyLimit: row.concurrency_limit,
    concurrencyStrategy: row.concurrency_strategy,
    holdExpirySeconds: row.hold_expiry_seconds,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Every column a create or an update writes (all of them: an update writes the merged record). */
function columnsOf(shape: EnvironmentShape) {
  return {
    org_id: shape.orgId,
    name: shape.name,
    type: shape.type,
    glob_pattern: shape.globPattern,
    enabled: shape.enabled,
    branch_restrictions: jsonb(shape.branchRestrictions),
    trigger_type_filters: jsonb(shape.triggerTypeFilters),
    repo_patterns: jsonb(shape.repoPatterns),
    minimum_trust: shape.minimumTrust,
    required_reviewers: jsonb(shape.requiredReviewers),
    wait_timer_seconds: shape.waitTimerSeconds,
    concurrency_limit: shape.concurrencyLimit,
    concurrency_strategy: shape.concurrencyStrategy,
    hold_expiry_seconds: shape.holdExpirySeconds,
  };
}

const isUniqueViolation = (e: unknown) => (e as { code?: string }).code === '23505';

export class EnvironmentRepository implements EnvironmentStore {
  constructor(private readonly db: Db) {}

  async create(input: NewEnvironment, now: Date): Promise<Environment> {
    const shape = newEnvironmentShape(input);
    const row = await nameGuarded(shape, () =>
      this.db.insertInto('environments').values({ id: input.id, ...columnsOf(shape), created_at: now, updated_at: now }).returningAll().executeTakeFirstOrThrow(),
    );
    return toEnvironment(row);
  }

  async get(id: string, orgId?: string): Promise<Environment | null> {
    if (!UUID.test(id)) return null;
    let query = this.db.selectFrom('environments').selectAll().where('id', '=', id);
    if (orgId !== undefined) query = query.where('org_id', '=', orgId);
    const row = await query.executeTakeFirst();
    return row ? toEnvironment(row) : null;
  }

  async findByName(orgId: string, name: string): Promise<Environment | null> {
    const row = await this.db.selectFrom('environments').selectAll().where('org_id', '=', orgId).where('name', '=', name).executeTakeFirst();
    return row ? toEnvironment(row) : null;
  }

  async list(orgId: string): Promise<Environment[]> {
    const rows = await this.db.selectFrom('environments').selectAll().where('org_id', '=', orgId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toEnvironment);
  }

  update(id: string, changes: EnvironmentChanges, now: Date): Promise<Environment | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return inTransaction(this.db, async (trx) => {
      const current = await trx.selectFrom('environments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      if (!current) return null;
      const shape = changedEnvironmentShape(shapeOf(toEnvironment(current)), changes);
      const row = await nameGuarded(shape, () =>
        trx.updateTable('environments').set({ ...columnsOf(shape), updated_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow(),
      );
      return toEnvironment(row);
    });
  }

  /**
   * The row lock comes first: a hold being inserted for this environment holds a key-share lock
   * on it until it commits, so the count below, a later statement, sees every hold committed
   * before the delete could go on, and none can slip in between the count and the delete.
   */
  delete(id: string): Promise<Environment | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return inTransaction(this.db, async (trx) => {
      const row = await trx.selectFrom('environments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      if (!row) return null;
      const { pending } = await trx
        .selectFrom('held_runs')
        .select((eb) => eb.fn.countAll<number>().as('pending'))
        .where('environment_id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow();
      if (Number(pending) > 0) throw new EnvironmentDeleteBlockedError(row.name, Number(pending));
      await trx.deleteFrom('environments').where('id', '=', id).execute();
      return toEnvironment(row);
    });
  }
}

/** A write that may take a name another environment of the org has: refused as such, by name. */
async function nameGuarded<T>(shape: EnvironmentShape, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (isUniqueViolation(e)) throw new EnvironmentNameTakenError(shape.orgId, shape.name);
    throw e;
  }
}
