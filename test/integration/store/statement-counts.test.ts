/**
 * `store.statements()` counts at the driver, on both drivers: a known sequence of calls gives exact
 * statements, round trips and kinds, BEGIN and COMMIT/ROLLBACK included.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { STATEMENT_KINDS, type StatementCounts, type StatementKind, type Store } from '../../../src/store/index.js';
import { statementKind } from '../../../src/store/statement-counter.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

/** What happened between two readings, with only the kinds that moved. */
function diff(before: StatementCounts, after: StatementCounts): { statements: number; roundTrips: number; byKind: Partial<Record<StatementKind, number>> } {
  const byKind: Partial<Record<StatementKind, number>> = {};
  for (const kind of STATEMENT_KINDS) {
    const d = after.byKind[kind] - before.byKind[kind];
    if (d !== 0) byKind[kind] = d;
  }
  return { statements: after.statements - before.statements, roundTrips: after.roundTrips - before.roundTrips, byKind };
}

async function counting(store: Store, work: () => Promise<unknown>): Promise<ReturnType<typeof diff>> {
  const before = store.statements();
  await work();
  return diff(before, store.statements());
}

describe('statementKind', () => {
  it('reads the first keyword, case-insensitively, after blanks and parentheses', () => {
    expect(statementKind('select 1')).toBe('select');
    expect(statementKind('  \n\tSELECT * from x')).toBe('select');
    expect(statementKind('(select 1) union (select 2)')).toBe('select');
    expect(statementKind('insert into t values ($1)')).toBe('insert');
    expect(statementKind('update t set a = 1')).toBe('update');
    expect(statementKind('delete from t')).toBe('delete');
    expect(statementKind('with x as (select 1) update t set a = 1')).toBe('with');
    expect(statementKind('begin')).toBe('begin');
    expect(statementKind('start transaction isolation level serializable')).toBe('begin');
    expect(statementKind('commit')).toBe('commit');
    expect(statementKind('END')).toBe('commit');
    expect(statementKind('rollback')).toBe('rollback');
    expect(statementKind('savepoint a')).toBe('other');
    expect(statementKind('selected')).toBe('other');
    expect(statementKind('select_x()')).toBe('other');
    expect(statementKind('create table t (a int)')).toBe('other');
    expect(statementKind('')).toBe('other');
  });
});

describeOnBothDrivers('statement counts', (store, driver) => {
  it('counts a single query as one statement and one round trip', async () => {
    expect(await counting(store(), () => store().ping())).toEqual({ statements: 1, roundTrips: 1, byKind: { select: 1 } });
    expect(await counting(store(), () => store().sources.get('src_missing'))).toEqual({ statements: 1, roundTrips: 1, byKind: { select: 1 } });
  });

  it('counts BEGIN and COMMIT of a transaction as statements and round trips of their own', async () => {
    const db = queryBuilderOf(store());
    const orgId = uniqueOrg();
    const counts = await counting(store(), () =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('admin_tokens').values({ id: `tok_${orgId}`, name: orgId, token_hash: `hash_${orgId}`, prefix: 'kici_', created_at: new Date() }).execute();
        await trx.selectFrom('admin_tokens').select('id').where('name', '=', orgId).execute();
        await trx.updateTable('admin_tokens').set({ name: `${orgId}_x` }).where('name', '=', orgId).execute();
        await trx.deleteFrom('admin_tokens').where('name', '=', `${orgId}_x`).execute();
      }),
    );
    expect(counts).toEqual({ statements: 6, roundTrips: 6, byKind: { begin: 1, insert: 1, select: 1, update: 1, delete: 1, commit: 1 } });
  });

  it('counts ROLLBACK when a transaction throws', async () => {
    const db = queryBuilderOf(store());
    const counts = await counting(store(), async () => {
      await expect(
        db.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
    });
    expect(counts).toEqual({ statements: 3, roundTrips: 3, byKind: { begin: 1, select: 1, rollback: 1 } });
  });

  it('counts a failing statement: it was sent', async () => {
    const db = queryBuilderOf(store());
    const counts = await counting(store(), () => expect(sql`select * from no_such_table`.execute(db)).rejects.toThrow());
    expect(counts).toEqual({ statements: 1, roundTrips: 1, byKind: { select: 1 } });
  });

  it('counts concurrent queries once each, over every pooled connection', async () => {
    const counts = await counting(store(), () => Promise.all(Array.from({ length: 25 }, () => store().ping())));
    expect(counts).toEqual({ statements: 25, roundTrips: 25, byKind: { select: 25 } });
    // Connections now back in the pool are not wrapped a second time.
    expect(await counting(store(), () => Promise.all(Array.from({ length: 25 }, () => store().ping())))).toEqual({
      statements: 25,
      roundTrips: 25,
      byKind: { select: 25 },
    });
  });

  it('shows the statements to a watcher until it stops watching', async () => {
    const seen: string[] = [];
    const stop = store().watchStatements((text, kind) => seen.push(`${kind}: ${text}`));
    await queryBuilderOf(store())
      .transaction()
      .execute((trx) => sql`select 2`.execute(trx));
    stop();
    await store().ping();
    expect(seen).toEqual(['begin: begin', 'select: select 2', 'commit: commit']);
  });

  it.runIf(driver === 'postgres')('counts each statement of a multi-statement simple query, in one round trip', async () => {
    const db = queryBuilderOf(store());
    const counts = await counting(store(), () => sql.raw('select 1; select 2; update admin_tokens set name = name where false').execute(db));
    expect(counts).toEqual({ statements: 3, roundTrips: 1, byKind: { select: 2, update: 1 } });
  });
});
