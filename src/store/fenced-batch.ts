/**
 * Many fenced writes to one table in one statement: the flush of a group commit (`group-commit.ts`)
 * for the run actors' run, job and step writes.
 *
 * The writes travel as one jsonb parameter, so the statement's text is the same whatever the batch
 * holds and PostgreSQL prepares it once. Each write carries a mask of the columns it sets; the
 * others keep their stored value. The fence is the one every run, job and step write has
 * (fence.ts): the shard row of the run, share-locked, must be at the writer's epoch. The rows are
 * locked in shard order, so two batches that need the same shards never wait on each other in a
 * cycle.
 *
 * Per write the statement answers what `fencedOutcome` answers for one: written, found (the row
 * exists) and the shard row's epoch, for `judgeFenced` to turn into true, false or an error.
 */
import { sql } from 'kysely';
import type { Db } from './database.js';
import { type FencedEntity, type FencedOutcome, fencedOutcome, type FencedWrite, judgeFenced } from './fence.js';
import { GroupCommit } from './group-commit.js';
import { asList } from './guards.js';
import { jsonText } from './sql-values.js';

/** `[column, SQL type]`. */
type Column = readonly [string, string];
/** `[field of the repository's changes, column, SQL type]`. */
type Settable = readonly [string, string, string];

/** A table whose rows the run actors write under the fence. */
export interface FencedTable {
  table: 'runs' | 'jobs' | 'steps';
  entity: FencedEntity;
  /** The columns that name a row. */
  keys: readonly Column[];
  /** From `input i` to the row's run, as joins ending at `runs`. */
  toRun: string;
  /** What a write may set, in mask-bit order (at most 30). */
  columns: readonly Settable[];
  /** Whether a write also stamps `owner_epoch` with the writer's epoch. */
  stampsEpoch: boolean;
}

export interface BatchedWrite {
  /** Key column → value, for every key. */
  key: Record<string, unknown>;
  /** How errors name the row. */
  id: string;
  epoch: number;
  /** The repository's changes (field → value): undefined keeps what the row holds, null clears it. */
  changes: object;
  /** Write only while the row's status is this one, or one of these. */
  expectedStatus?: string | readonly string[];
  /** The same write as its own statement (a lone write, or a batch that failed as a whole). */
  alone(): FencedWrite;
}

/** Where the one parameter goes in the statement. */
const INPUT = '\u0000input\u0000';

function statement(t: FencedTable): [string, string] {
  const record = ['n integer', ...t.keys.map(([c, ty]) => `${c} ${ty}`), 'epoch integer', 'mask integer', 'expect text[]', ...t.columns.map(([, c, ty]) => `${c} ${ty}`)];
  const sameRow = t.keys.map(([c]) => `t.${c} = i.${c}`).join(' and ');
  // A JSON null in the input may come through as the jsonb value null: the column is NULL then.
  const value = (c: string, ty: string) => (ty === 'jsonb' ? `nullif(i.${c}, 'null'::jsonb)` : `i.${c}`);
  const assignments = [
    ...(t.stampsEpoch ? ['owner_epoch = i.epoch'] : []),
    ...t.columns.map(([, c, ty], bit) => `${c} = case when i.mask & ${1 << bit} <> 0 then ${value(c, ty)} else t.${c} end`),
  ].join(', ');
  const text = `with input as (select * from jsonb_to_recordset(cast(${INPUT}::text as jsonb)) as i(${record.join(', ')})),
  fence as (
    select i.n, shards.epoch from input i ${t.toRun} join shards on shards.shard = runs.shard
    order by shards.shard for share of shards),
  written as (
    update ${t.table} as t set ${assignments}
    from input i join fence on fence.n = i.n
    where ${sameRow} and fence.epoch = i.epoch and (i.expect is null or t.status = any(i.expect))
    returning i.n)
  select i.n,
    exists (select 1 from written w where w.n = i.n) as written,
    exists (select 1 from ${t.table} t where ${sameRow}) as found,
    fence.epoch as shard_epoch
  from input i left join fence on fence.n = i.n
  order by i.n`;
  return text.split(INPUT) as [string, string];
}

async function writeBatch(db: Db, table: FencedTable, [head, tail]: [string, string], writes: readonly BatchedWrite[]): Promise<FencedOutcome[]> {
  const input = writes.map((w, n) => {
    let mask = 0;
    const row: Record<string, unknown> = { n, ...w.key, epoch: w.epoch, expect: w.expectedStatus === undefined ? null : asList(w.expectedStatus) };
    const changes = w.changes as Record<string, unknown>;
    table.columns.forEach(([field, column], bit) => {
      if (changes[field] === undefined) return;
      mask |= 1 << bit;
      row[column] = changes[field];
    });
    row.mask = mask;
    return row;
  });
  const { rows } = await sql<FencedOutcome>`${sql.raw(head)}${jsonText(input)}${sql.raw(tail)}`.execute(db);
  return rows;
}

/** The group commit of one table's fenced writes. */
export class FencedBatchWriter {
  private readonly group: GroupCommit<BatchedWrite, FencedOutcome>;

  constructor(
    db: Db,
    private readonly table: FencedTable,
  ) {
    const text = statement(table);
    this.group = new GroupCommit<BatchedWrite, FencedOutcome>({
      flush: (writes) => writeBatch(db, table, text, writes),
      single: (w) => fencedOutcome(db, w.alone()),
      keyOf: (w) => w.id,
    });
  }

  /** true when written; false when only the status guard refused; throws as `fencedUpdate` does. */
  async write(w: BatchedWrite): Promise<boolean> {
    return judgeFenced({ entity: this.table.entity, id: w.id, epoch: w.epoch }, await this.group.submit(w));
  }
}
