/**
 * Parameterised statements are prepared once per connection on a real PostgreSQL, within bounds,
 * and a plan PostgreSQL refuses after a schema change costs one failed statement, not the connection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/index.js';
import { prepareStatements, type PreparedStatementLimits } from '../../../src/store/prepared-statements.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { freshDatabaseUrl } from '../../support/postgres.js';

const pools: pg.Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

/** One connection, so every query meets the same session and its prepared statements. */
async function onePool(limits?: Partial<PreparedStatementLimits>, url?: string): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url ?? (await freshDatabaseUrl()), max: 1 });
  pools.push(pool);
  prepareStatements(pool, limits);
  return pool;
}

/** Names of the statements the session holds (asked unparameterised, so the asking is not one of them). */
async function preparedNames(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>('select name from pg_prepared_statements order by name');
  return rows.map((r) => r.name);
}

async function preparedTexts(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ statement: string }>('select statement from pg_prepared_statements order by statement');
  return rows.map((r) => r.statement);
}

describe('prepared statements', () => {
  it('prepares a parameterised statement once on a connection and reuses it, answers unchanged', async () => {
    const pool = await onePool();
    for (let i = 0; i < 7; i++) {
      const { rows } = await pool.query('select $1::int + 1 as n', [i]);
      expect(rows).toEqual([{ n: i + 1 }]);
    }
    expect(await preparedTexts(pool)).toEqual(['select $1::int + 1 as n']);
    const { rows } = await pool.query<{ generic_plans: string; custom_plans: string }>(
      `select generic_plans, custom_plans from pg_prepared_statements where statement = 'select $1::int + 1 as n'`,
    );
    // Seven executions of one statement: PostgreSQL planned it at most six times, not seven.
    expect(Number(rows[0]!.generic_plans) + Number(rows[0]!.custom_plans)).toBe(7);
    expect(Number(rows[0]!.generic_plans)).toBeGreaterThan(0);
  });

  it('leaves statements without parameters, and texts over the length bound, unnamed', async () => {
    const pool = await onePool({ maxTextLength: 40 });
    await pool.query('select 1 as one');
    await pool.query(`select $1::text as long_enough_to_pass_the_bound_of_forty`, ['x']);
    await pool.query('select $1::int as n', [1]);
    expect(await preparedTexts(pool)).toEqual(['select $1::int as n']);
  });

  it('keeps at most the bound of names on one connection; further texts go unnamed and still answer', async () => {
    const pool = await onePool({ perConnection: 2 });
    for (const k of [1, 2, 3, 4]) {
      const { rows } = await pool.query(`select $1::int * ${k} as n`, [5]);
      expect(rows).toEqual([{ n: 5 * k }]);
    }
    expect(await preparedNames(pool)).toHaveLength(2);
  });

  it('a plan refused after a column was added fails that statement once; the connection then goes on unnamed', async () => {
    const url = await freshDatabaseUrl();
    const pool = await onePool({}, url);
    // Held and released without an error, as Kysely does (the pool's own `query` drops a client on any error).
    const client = await pool.connect();
    try {
      await client.query('create table widgets (id int primary key)');
      await client.query('insert into widgets values (1)');
      expect((await client.query('select * from widgets where id = $1', [1])).rows).toEqual([{ id: 1 }]);
      // Another session changes the table under the prepared `select *`.
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      await other.query('alter table widgets add column colour text');
      await other.end();
      await expect(client.query('select * from widgets where id = $1', [1])).rejects.toMatchObject({ code: '0A000' });
      expect((await client.query('select * from widgets where id = $1', [1])).rows).toEqual([{ id: 1, colour: null }]);
      expect((await client.query('select $1::int as n', [3])).rows).toEqual([{ n: 3 }]);
      const { rows } = await client.query<{ statement: string }>('select statement from pg_prepared_statements');
      expect(rows.map((r) => r.statement)).toEqual(['select * from widgets where id = $1']);
    } finally {
      client.release();
    }
  });
});

describe('the store prepares on PostgreSQL unless told not to', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function preparedAfterWork(prepare: boolean | undefined): Promise<number> {
    const dataDir = mkdtempSync(join(tmpdir(), 'kici-prepare-'));
    dirs.push(dataDir);
    const store = await openStore({ url: await freshDatabaseUrl(), dataDir, poolSize: 1, prepare });
    try {
      await store.migrations.migrate();
      const db = queryBuilderOf(store);
      await db.selectFrom('sources').select('id').where('id', '=', 'none').execute();
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(db);
      return rows[0]!.n;
    } finally {
      await store.close();
    }
  }

  it('by default, and not with prepare: false', async () => {
    expect(await preparedAfterWork(undefined)).toBeGreaterThan(0);
    expect(await preparedAfterWork(false)).toBe(0);
  });
});
