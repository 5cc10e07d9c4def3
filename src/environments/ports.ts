/**
 * Where environments are kept. The store room implements it over PostgreSQL and PGlite
 * (`store.environments`), this room in memory (`MemoryEnvironmentStore`); one contract suite
 * (test/contract/environment-store.contract.ts) holds all three to the same behaviour.
 */
import type { Environment, EnvironmentChanges, NewEnvironment } from './environment.js';

export interface EnvironmentStore {
  /**
   * Create with defaults for what is left out; `now` is its created_at and updated_at. Throws
   * InvalidEnvironmentError (a broken rule) or EnvironmentNameTakenError (the name is used in the org).
   */
  create(input: NewEnvironment, now: Date): Promise<Environment>;
  /** By id; with `orgId`, only an environment of that org. */
  get(id: string, orgId?: string): Promise<Environment | null>;
  findByName(orgId: string, name: string): Promise<Environment | null>;
  /** One org's environments, oldest first (created_at, then id): the order matching breaks ties by. */
  list(orgId: string): Promise<Environment[]>;
  /** Null when there is no such environment; throws as create does. */
  update(id: string, changes: EnvironmentChanges, now: Date): Promise<Environment | null>;
  /**
   * Delete with its variables and source overrides; decided holds stay, their environment cleared.
   * Null when there is no such environment; throws EnvironmentDeleteBlockedError while any of its
   * holds is pending.
   */
  delete(id: string): Promise<Environment | null>;
}
