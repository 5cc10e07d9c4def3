/** Optimistic status guards shared by the run, job and step writes, and transaction joining. */
import type { Transaction } from 'kysely';
import type { Db } from './database.js';
import { FencedWriteError, NotFoundError } from './errors.js';
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

/**
 * Why a fenced write to a run or job changed no row: gone (NotFoundError), owned by a newer epoch
 * (FencedWriteError), or else only its status guard failed (false).
 */
export async function explainFencedMiss(db: Db, table: 'runs' | 'jobs', id: string, epoch: number): Promise<false> {
  const entity = table === 'runs' ? 'run' : 'job';
  const row = await db.selectFrom(table).select('owner_epoch').where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError(entity, id);
  if (row.owner_epoch > epoch) throw new FencedWriteError(entity, id, epoch, row.owner_epoch);
  return false;
}
