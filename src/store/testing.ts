/**
 * The store's test-only door. Nothing under src/ imports it (test/unit/store/doors.test.ts checks):
 * production code gets repositories and nothing else. Tests use it to look at rows no repository
 * shows (a soft-deleted source, the migrations table), to migrate down, and to run several
 * repositories' writes in one transaction the way the store does inside its own methods.
 *
 * It hands out the open store's own query builder rather than opening a second connection: PGlite
 * allows one opener per data directory (and per process), so a second Kysely could not reach it.
 */
import type { Kysely } from 'kysely';
import { inTransaction as joinTransaction } from './guards.js';
import { migrationProvider } from './migrations/index.js';
import { type Repositories, repositoriesOver } from './repositories.js';
import type { StoreSchema } from './schema.js';
import { builderOf, type Store } from './store.js';

export type { StoreSchema };
export { migrationProvider };

/** The query builder behind an open store. */
export function queryBuilderOf(store: Store): Kysely<StoreSchema> {
  return builderOf(store);
}

/**
 * Run `work` with repositories bound to one transaction: everything it writes commits together,
 * or rolls back together when it throws.
 */
export function inOneTransaction<T>(store: Store, work: (tx: Repositories) => Promise<T>): Promise<T> {
  return joinTransaction(builderOf(store), (trx) => work(repositoriesOver(trx)));
}
