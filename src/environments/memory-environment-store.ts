/**
 * The EnvironmentStore in memory, for the domain's unit tests and the cluster simulator. It runs
 * the same rule checks as the database store and refuses what its constraints refuse (a name
 * taken in the org, a delete while holds are pending), as the contract suite checks.
 */
import { type IdSource, systemIds } from '../clock/index.js';
import { type Environment, type EnvironmentChanges, type NewEnvironment, shapeOf } from './environment.js';
import { EnvironmentDeleteBlockedError, EnvironmentNameTakenError } from './errors.js';
import type { EnvironmentStore } from './ports.js';
import { changedEnvironmentShape, newEnvironmentShape } from './rules.js';

export class MemoryEnvironmentStore implements EnvironmentStore {
  private readonly rows = new Map<string, Environment>();
  /** Environment id → its pending holds (the held_runs rows a database would count). */
  private readonly pending = new Map<string, number>();

  constructor(private readonly ids: IdSource = systemIds) {}

  async create(input: NewEnvironment, now: Date): Promise<Environment> {
    const shape = newEnvironmentShape(input);
    this.refuseTakenName(shape.orgId, shape.name);
    const env: Environment = { id: input.id ?? this.ids.newId(), ...shape, createdAt: now, updatedAt: now };
    this.rows.set(env.id, env);
    return copy(env);
  }

  async get(id: string, orgId?: string): Promise<Environment | null> {
    const env = this.rows.get(id);
    return env && (orgId === undefined || env.orgId === orgId) ? copy(env) : null;
  }

  async findByName(orgId: string, name: string): Promise<Environment | null> {
    const env = [...this.rows.values()].find((e) => e.orgId === orgId && e.name === name);
    return env ? copy(env) : null;
  }

  async list(orgId: string): Promise<Environment[]> {
    return [...this.rows.values()]
      .filter((e) => e.orgId === orgId)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map(copy);
  }

  async update(id: string, changes: EnvironmentChanges, now: Date): Promise<Environment | null> {
    const current = this.rows.get(id);
    if (!current) return null;
    const shape = changedEnvironmentShape(shapeOf(current), changes);
    if (shape.name !== current.name) this.refuseTakenName(shape.orgId, shape.name);
    const env: Environment = { ...shape, id, createdAt: current.createdAt, updatedAt: now };
    this.rows.set(id, env);
    return copy(env);
  }

  async delete(id: string): Promise<Environment | null> {
    const env = this.rows.get(id);
    if (!env) return null;
    const pending = this.pending.get(id) ?? 0;
    if (pending > 0) throw new EnvironmentDeleteBlockedError(env.name, pending);
    this.rows.delete(id);
    return copy(env);
  }

  /** Test hook: `count` holds of the environment are pending (0: none), as held_runs rows would be. */
  setPendingHolds(environmentId: string, count: number): void {
    this.pending.set(environmentId, count);
  }

  private refuseTakenName(orgId: string, name: string): void {
    if ([...this.rows.values()].some((e) => e.orgId === orgId && e.name === name)) throw new EnvironmentNameTakenError(orgId, name);
  }
}

function copy(env: Environment): Environment {
  return {
    ...env,
    branchRestrictions: [...env.branchRestrictions],
    triggerTypeFilters: [...env.triggerTypeFilters],
    repoPatterns: [...env.repoPatterns],
    requiredReviewers: [...env.requiredReviewers],
    createdAt: new Date(env.createdAt),
    updatedAt: new Date(env.updatedAt),
  };
}
