/** Optimistic status guards shared by the run, job and step writes, and transaction joining. */
import type { Transaction } from 'kysely';
import type { Db } from './database.js';
import type { StoreSchema } from './schema.js';

export interface StatusGuard<S extends string> {
  /** Apply only while the row is in one of these statuses; otherwise the write returns false. */
  expectedStatus?: S | readonly S[];
}

export function asList<S>(value: S | readonly S[]): S[] {
  return Array.isArray(value) ? [...(value as readonly S[])] : [value as S];
}

/**
 * Run `work` in a transaction, joining the caller's when `db` already is one, so a repository
 * method that needs atomicity still composes into a larger transaction (repositories built over
 * a transaction, as `testing.ts` does).
 */
export function inTransaction<T>(db: Db, work: (trx: Transaction<StoreSchema>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db as Transaction<StoreSchema>);
  return db.transaction().execute(work);
}
