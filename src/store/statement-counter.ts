/**
 * Statements and round trips counted where they leave for the database driver, so a change to the
 * hot path shows at once in `store.statements()` (and in `npm run bench -- dispatch`).
 *
 * A round trip is one call into the driver (`client.query` of a pooled `pg` client, PGlite's
 * `query`/`exec`, and PGlite's own BEGIN and COMMIT/ROLLBACK around a transaction). A statement is
 * one SQL statement: one per round trip, except a simple-protocol query that carries several (pg
 * without parameters, PGlite's `exec`), counted from its results. Kysely sends one statement per
 * query and BEGIN and COMMIT as queries of their own, so on the happy path the two numbers agree.
 *
 * The cost per query is a few integer increments and a look at the first keyword; the SQL text is
 * handed on only while someone watches (`watch`).
 */
import type { PGlite, Results, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';

/** The first keyword of a statement; `with` is a CTE whatever it ends in; the rest is `other`. */
export const STATEMENT_KINDS = ['select', 'insert', 'update', 'delete', 'with', 'begin', 'commit', 'rollback', 'other'] as const;
export type StatementKind = (typeof STATEMENT_KINDS)[number];

export interface StatementCounts {
  /** SQL statements sent since the database opened. */
  statements: number;
  /** Calls into the driver (each waits for the database once) since the database opened. */
  roundTrips: number;
  /** Statements by first keyword. */
  byKind: Record<StatementKind, number>;
}

const SELECT = 0;
const INSERT = 1;
const UPDATE = 2;
const DELETE = 3;
const WITH = 4;
const BEGIN = 5;
const COMMIT = 6;
const ROLLBACK = 7;
const OTHER = 8;

/** Index into STATEMENT_KINDS of the statement's first keyword (case-insensitive, leading blanks skipped). */
export function statementKind(sql: string): StatementKind {
  return STATEMENT_KINDS[kindIndex(sql)]!;
}

function kindIndex(sql: string): number {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    // space, tab, newline, carriage return, form feed, '('
    if (c === 32 || (c >= 9 && c <= 13) || c === 40) i++;
    else break;
  }
  if (i >= n) return OTHER;
  switch (sql.charCodeAt(i) | 0x20) {
    case 115 /* s */:
      return word(sql, i, 'select') ? SELECT : word(sql, i, 'start') ? BEGIN : OTHER;
    case 105 /* i */:
      return word(sql, i, 'insert') ? INSERT : OTHER;
    case 117 /* u */:
      return word(sql, i, 'update') ? UPDATE : OTHER;
    case 100 /* d */:
      return word(sql, i, 'delete') ? DELETE : OTHER;
    case 119 /* w */:
      return word(sql, i, 'with') ? WITH : OTHER;
    case 98 /* b */:
      return word(sql, i, 'begin') ? BEGIN : OTHER;
    case 99 /* c */:
      return word(sql, i, 'commit') ? COMMIT : OTHER;
    case 101 /* e */:
      return word(sql, i, 'end') ? COMMIT : OTHER;
    case 114 /* r */:
      return word(sql, i, 'rollback') ? ROLLBACK : OTHER;
    case 97 /* a */:
      return word(sql, i, 'abort') ? ROLLBACK : OTHER;
    default:
      return OTHER;
  }
}

/** `sql` has the lower-case `keyword` at `at`, followed by something that is not a letter. */
function word(sql: string, at: number, keyword: string): boolean {
  const end = at + keyword.length;
  if (end > sql.length) return false;
  for (let k = 0; k < keyword.length; k++) {
    if ((sql.charCodeAt(at + k) | 0x20) !== keyword.charCodeAt(k)) return false;
  }
  if (end === sql.length) return true;
  const next = sql.charCodeAt(end) | 0x20;
  return !(next >= 97 && next <= 122) && next !== 0x7f /* '_' | 0x20 */;
}

/** A command tag (`SELECT`, `INSERT`, …) from a result, for the statements of a multi-statement query. */
function commandIndex(command: string | undefined | null): number {
  switch (command) {
    case 'SELECT':
      return SELECT;
    case 'INSERT':
      return INSERT;
    case 'UPDATE':
      return UPDATE;
    case 'DELETE':
      return DELETE;
    case 'BEGIN':
    case 'START TRANSACTION':
      return BEGIN;
    case 'COMMIT':
      return COMMIT;
    case 'ROLLBACK':
      return ROLLBACK;
    default:
      return OTHER;
  }
}

export type StatementWatcher = (sql: string, kind: StatementKind) => void;

export class StatementCounter {
  private statements = 0;
  private roundTrips = 0;
  private readonly kinds: number[] = STATEMENT_KINDS.map(() => 0);
  private readonly watchers = new Set<StatementWatcher>();

  counts(): StatementCounts {
    const byKind = {} as Record<StatementKind, number>;
    STATEMENT_KINDS.forEach((kind, i) => (byKind[kind] = this.kinds[i]!));
    return { statements: this.statements, roundTrips: this.roundTrips, byKind };
  }

  /** Call `fn` with the text of every statement sent from now on, until the returned function is called. */
  watch(fn: StatementWatcher): () => void {
    const own: StatementWatcher = (sql, kind) => fn(sql, kind);
    this.watchers.add(own);
    return () => {
      this.watchers.delete(own);
    };
  }

  /** One round trip carrying `sql`; returns the kind counted for it. */
  sent(sql: string): number {
    const kind = kindIndex(sql);
    this.roundTrips++;
    this.statements++;
    this.kinds[kind]!++;
    if (this.watchers.size > 0) for (const w of this.watchers) w(sql, STATEMENT_KINDS[kind]!);
    return kind;
  }

  /** A round trip the driver makes on its own (PGlite's BEGIN, COMMIT and ROLLBACK around a transaction). */
  control(kind: typeof BEGIN | typeof COMMIT | typeof ROLLBACK): void {
    this.roundTrips++;
    this.statements++;
    this.kinds[kind]!++;
    if (this.watchers.size > 0) for (const w of this.watchers) w(STATEMENT_KINDS[kind]!, STATEMENT_KINDS[kind]!);
  }

  /**
   * A simple-protocol query answered with one result per statement: the first was counted as
   * `firstKind` when it was sent; the others are added, each by its command tag.
   */
  results(firstKind: number, results: unknown): void {
    if (!Array.isArray(results) || results.length < 2) return;
    this.statements += results.length - 1;
    this.kinds[firstKind]!--;
    for (const r of results as { command?: string | null }[]) this.kinds[commandIndex(r?.command)]!++;
  }

  /** Count every query of each client `pool` hands out (each client is wrapped once, when it connects). */
  instrumentPool(pool: pg.Pool): void {
    pool.on('connect', (client) => this.instrumentClient(client));
  }

  private instrumentClient(client: pg.PoolClient): void {
    const original = client.query as (...args: unknown[]) => unknown;
    const counter = this;
    const query = function (this: unknown, ...args: unknown[]): unknown {
      const first = args[0];
      let text: string | undefined;
      let values: unknown;
      let simpleAllowed = true;
      if (typeof first === 'string') {
        text = first;
        values = args[1];
      } else if (first && typeof first === 'object') {
        const config = first as { text?: unknown; values?: unknown; name?: unknown; queryMode?: unknown; submit?: unknown };
        if (typeof config.text === 'string') text = config.text;
        values = config.values;
        // A Submittable (cursor) or a named/extended query is one statement, answered its own way.
        simpleAllowed = typeof config.submit !== 'function' && config.name === undefined && config.queryMode !== 'extended';
      }
      const kind = counter.sent(text ?? '');
      const result = original.apply(this, args);
      // pg sends a query without parameters as a simple query, which may hold several statements.
      const simple = simpleAllowed && (values === undefined || (Array.isArray(values) && values.length === 0));
      if (simple && kind !== BEGIN && kind !== COMMIT && kind !== ROLLBACK && isPromise(result)) {
        result.then((r) => counter.results(kind, r), ignore);
      }
      return result;
    };
    client.query = query as typeof client.query;
  }

  /** Count PGlite's queries: `query`, `exec`, and the statements of `transaction` with its BEGIN and COMMIT/ROLLBACK. */
  instrumentPglite(pglite: PGlite): void {
    const query = pglite.query.bind(pglite);
    const exec = pglite.exec.bind(pglite);
    const transaction = pglite.transaction.bind(pglite);
    pglite.query = <T>(sql: string, params?: unknown[], options?: Parameters<PGlite['query']>[2]): Promise<Results<T>> => {
      this.sent(sql);
      return query<T>(sql, params, options);
    };
    pglite.exec = (sql, options) => this.countExec(sql, () => exec(sql, options));
    pglite.transaction = <T>(callback: (tx: Transaction) => Promise<T>): Promise<T> =>
      transaction(async (tx) => {
        // PGlite has sent BEGIN by the time the callback runs.
        this.control(BEGIN);
        this.instrumentTransaction(tx);
        try {
          const result = await callback(tx);
          // PGlite sends COMMIT next, unless the callback rolled back itself (counted in tx.rollback).
          if (!tx.closed) this.control(COMMIT);
          return result;
        } catch (error) {
          if (!tx.closed) this.control(ROLLBACK);
          throw error;
        }
      });
  }

  private instrumentTransaction(tx: Transaction): void {
    const query = tx.query.bind(tx);
    const exec = tx.exec.bind(tx);
    const sqlTag = tx.sql.bind(tx);
    const rollback = tx.rollback.bind(tx);
    tx.query = <T>(sql: string, params?: unknown[], options?: Parameters<Transaction['query']>[2]): Promise<Results<T>> => {
      this.sent(sql);
      return query<T>(sql, params, options);
    };
    tx.exec = (sql, options) => this.countExec(sql, () => exec(sql, options));
    tx.sql = <T>(strings: TemplateStringsArray, ...params: unknown[]): Promise<Results<T>> => {
      this.sent(strings[0] ?? '');
      return sqlTag<T>(strings, ...params);
    };
    tx.rollback = async () => {
      if (!tx.closed) this.control(ROLLBACK);
      await rollback();
    };
  }

  private countExec(sql: string, send: () => Promise<Results[]>): Promise<Results[]> {
    const kind = this.sent(sql);
    const result = send();
    result.then((r) => this.results(kind, r), ignore);
    return result;
  }
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | undefined)?.then === 'function';
}

function ignore(): void {}
