/**
 * The shard fence (DESIGN §3; Temporal's shard range ids). The `shards` table keeps one row per
 * shard with its epoch; a node that gains a shard raises that row (ShardRepository.assign) before
 * it acts. Every write an owner makes for a run in shard S at epoch E checks, in the same
 * statement, that S's row is at exactly E, under a share lock on that row:
 *
 *   WITH fence AS (SELECT shards.epoch FROM runs JOIN shards ON shards.shard = runs.shard
 *                  WHERE runs.id = $run FOR SHARE OF shards),
 *        written AS (UPDATE runs SET … WHERE id = $run AND <status guard>
 *                      AND EXISTS (SELECT 1 FROM fence WHERE fence.epoch = $E) RETURNING 1)
 *   SELECT EXISTS (SELECT 1 FROM written) AS written,
 *          EXISTS (SELECT 1 FROM runs WHERE id = $run) AS found,
 *          (SELECT epoch FROM fence) AS shard_epoch
 *
 * (jobs and steps reach their shard through their run: `jobs JOIN runs JOIN shards`, all primary
 * key lookups.) So the moment a shard's row is raised, every write of the old owner fails for the
 * whole shard, rows the new owner has not touched included; a write at an epoch the row has not
 * reached yet (the gainer has not raised it) and a write for a shard with no row fail too.
 *
 * The share lock is what makes "raise, then act" hold under concurrency: the raise (an UPDATE of
 * the row) waits for every write that holds the lock to commit, and a write that waits on a raise
 * re-reads the row once it commits (READ COMMITTED re-checks a locked row), so no write of the old
 * owner commits after the new owner has raised the row and loaded the run.
 *
 * One round trip per write: the refusal's reason (gone, fenced, or else the status guard) comes
 * back in the same statement.
 */
import { sql, type OperationNodeSource, type RawBuilder, type SqlBool } from 'kysely';
import type { Db } from './database.js';
import { FencedWriteError, NotFoundError } from './errors.js';

export type FencedEntity = 'run' | 'job' | 'step';

/** The WHERE term every fenced UPDATE carries: its shard's row, locked in `fence`, is at `epoch`. */
export function fenceHolds(epoch: number): RawBuilder<SqlBool> {
  return sql<SqlBool>`exists (select 1 from fence where fence.epoch = ${epoch})`;
}

/** The run's shard row, share-locked: the `fence` of a run write. */
export function shardOfRun(runId: string): RawBuilder<unknown> {
  return sql`select shards.epoch from runs join shards on shards.shard = runs.shard where runs.id = ${runId} for share of shards`;
}

/** The shard row of the job's run, share-locked: the `fence` of a job or step write. */
export function shardOfJob(jobId: string): RawBuilder<unknown> {
  return sql`select shards.epoch from jobs join runs on runs.id = jobs.run_id join shards on shards.shard = runs.shard where jobs.id = ${jobId} for share of shards`;
}

export interface FencedWrite {
  entity: FencedEntity;
  /** How errors name the row. */
  id: string;
  epoch: number;
  /** `shardOfRun` / `shardOfJob`: the row the write is fenced by. */
  fence: RawBuilder<unknown>;
  /** The UPDATE, with `fenceHolds(epoch)` in its WHERE and a RETURNING clause. */
  update: OperationNodeSource;
  /** A query that returns a row when the written row exists. */
  row: RawBuilder<unknown>;
}

/**
 * Run a fenced UPDATE. true when it wrote; false when only its status guard refused it; throws
 * NotFoundError when the row does not exist and FencedWriteError when its shard's row is not at
 * the writer's epoch (raised past it, not raised to it yet, or missing).
 */
export async function fencedUpdate(db: Db, write: FencedWrite): Promise<boolean> {
  return judgeFenced(write, await fencedOutcome(db, write));
}

/** Run a fenced UPDATE and say what happened, without judging it (a group commit judges later). */
export async function fencedOutcome(db: Db, write: FencedWrite): Promise<FencedOutcome> {
  const result = await sql<FencedOutcome>`
    with fence as (${write.fence}), written as (${write.update})
    select exists (select 1 from written) as written, exists (${write.row}) as found, (select epoch from fence) as shard_epoch`.execute(db);
  const outcome = result.rows[0];
  if (!outcome) throw new Error('a fenced write returned no outcome row');
  return outcome;
}

/** What a fenced write's statement says about it: written, the row exists, the epoch its shard's row is at. */
export interface FencedOutcome {
  written: boolean;
  found: boolean;
  shard_epoch: number | null;
}

/** true when written; false when only the status guard refused; else NotFoundError or FencedWriteError. */
export function judgeFenced(write: { entity: FencedEntity; id: string; epoch: number }, outcome: FencedOutcome): boolean {
  if (outcome.written) return true;
  if (!outcome.found) throw new NotFoundError(write.entity, write.id);
  if (outcome.shard_epoch !== write.epoch) throw new FencedWriteError(write.entity, write.id, write.epoch, outcome.shard_epoch);
  return false;
}
