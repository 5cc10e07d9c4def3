/**
 * Runs: creation (with all jobs, needs edges and steps, in one transaction), loading, listing, and
 * the run-level writes a RunActor makes. Every write, creation included, is fenced by the run's
 * shard row (fence.ts): it goes through only at the epoch that row holds.
 * Creation spans the jobs, job_needs and steps tables too: that transaction stays in here, and so
 * does a delivery's (`createForDelivery`: its outcome and all its runs at once).
 */
import { sql } from 'kysely';
import { type CoordinatorClaim, heldBy } from './coordinator-term.js';
import type { Db } from './database.js';
import { DeliveryRepository, type DeliveryOutcome } from './deliveries.js';
import { insertRuns, type PushClaim, type RunInsert } from './run-inserts.js';
import { fencedUpdate, type FencedWrite, fenceHolds, shardOfRun } from './fence.js';
import { FencedBatchWriter, type FencedTable } from './fenced-batch.js';
import { asList, type StatusGuard } from './guards.js';
import { type JobNeed, type JobRecord, type RunRecord, type StepRecord, toNeed, toRun, toStep } from './run-records.js';
import { CreatedRuns } from './created-runs.js';
import {
  type JobStatus,
  type RunConcurrency,
  type RunStatus,
  type StepStatus,
  TERMINAL_RUN_STATUSES,
} from './schema.js';
import { jobsOfRun } from './jobs.js';

export interface NewStep {
  name: string;
  /** `pending` unless given (a rerun carries a finished job's steps over as they ended). */
  status?: StepStatus;
  exitCode?: number | null;
}

export interface NewJob {
  id: string;
  name: string;
  baseName: string;
  matrix?: Record<string, unknown> | null;
  /** The lock file's job, as the agent will receive it. */
  config: unknown;
  status?: JobStatus;
  /** True for root jobs (no needs). */
  needsSatisfied: boolean;
  /** Outputs of a job carried over finished from an earlier attempt. */
  outputs?: Record<string, unknown> | null;
  finishedAt?: Date | null;
  steps: NewStep[];
}

export interface NewJobNeed {
  jobId: string;
  upstreamJobId: string;
  runOn?: JobStatus[];
}

export interface NewRun {
  id: string;
  orgId: string;
  sourceId: string;
  deliveryId?: string | null;
  workflowName: string;
  status?: RunStatus;
  attempt?: number;
  shard: number;
  event: unknown;
  repoUrl?: string | null;
  ref?: string | null;
  sha?: string | null;
  branch?: string | null;
  parentRunId?: string | null;
  /** The workflow's `timeout` in ms. */
  timeoutMs?: number | null;
  /** The workflow's `concurrency` block, defaults applied. */
  concurrency?: RunConcurrency | null;
  /** For a run created already failed (corrupt lock file, unsupported field): the reason. */
  error?: string | null;
  startedAt?: Date | null;
  finishedAt?: Date | null;
  jobs: NewJob[];
  needs: NewJobNeed[];
}

export interface CreateRunResult {
  /** False when this delivery already started this workflow (a resumed delivery); `runId` is that run. */
  created: boolean;
  runId: string;
}

/** A delivery's runs and its outcome, created and recorded together (`createForDelivery`). */
export interface DeliveryRuns {
  orgId: string;
  deliveryId: string;
  /** Each run the delivery starts, with the epoch its creator knows for the run's shard. */
  runs: { run: NewRun; epoch: number }[];
  /** Recorded only while the delivery is `received`. */
  outcome: DeliveryOutcome;
  /** The push the delivery brought: claimed with the runs, which are written only if it is this delivery's. */
  push?: PushClaim;
}

export interface DeliveryRunsResult {
  /** False when the delivery was no longer `received`, or its push is another's: nothing was written. */
  recorded: boolean;
  /** One per run given, in order (empty when not recorded). */
  runs: CreateRunResult[];
  /** Set when the push is another delivery's: its id, or null when its claim is too new to see (ask again). */
  pushOwner?: string | null;
}

export interface RunSnapshot {
  run: RunRecord;
  /**
   * The epoch in the run's shard row as it was read: the one epoch whose writes to this run go
   * through. null when the shard has no row (every write is refused).
   */
  shardEpoch: number | null;
  jobs: JobRecord[];
  needs: JobNeed[];
  steps: StepRecord[];
}

export interface RunFilter {
  orgId?: string;
  sourceId?: string;
  /** Runs of any of these sources. */
  sourceIds?: readonly string[];
  status?: RunStatus;
  workflowName?: string;
  branch?: string;
  /** Only runs created strictly before this instant (paging backwards). */
  before?: Date;
  limit?: number;
}

/** One workflow `concurrency` group: the runs of one workflow of one source that share a group string. */
export interface ConcurrencyGroupFilter {
  sourceId: string | null;
  workflowName: string;
  group: string;
}

export interface RunChanges {
  status?: RunStatus;
  error?: string | null;
  startedAt?: Date | null;
  finishedAt?: Date | null;
  /** `runs.environment`: the first environment concurrency group a job of the run asked for. */
  environment?: string | null;
}

export class RunRepository {
  private readonly created = new CreatedRuns();
  /** The run actors' run writes, sent together when they come at about the same time. */
  private readonly batch: FencedBatchWriter;

  constructor(private readonly db: Db) {
    this.batch = new FencedBatchWriter(db, RUNS);
  }

  /**
   * Insert a run with all its jobs, needs edges and steps, at the caller's shard epoch. Throws
   * FencedWriteError (and inserts nothing) unless `input.shard`'s row is at `epoch`; the row stays
   * share-locked until the transaction commits.
   */
  async create(input: NewRun, epoch: number, now: Date): Promise<CreateRunResult> {
    const { runs } = await insertRuns(this.db, [{ run: input, epoch }], now);
    return this.kept(runs[0]!);
  }

  /**
   * Everything a delivery leads to, in one statement: its outcome recorded (only from `received`)
   * and every run it starts, each with its jobs, needs edges and steps, at the epoch its creator
   * knows for the run's shard (run-inserts.ts). Unless each shard's row is at its run's epoch,
   * FencedWriteError is thrown and nothing is written (the delivery stays `received` for the owner
   * of its shard). A delivery no longer `received` (another node recorded it) gets
   * `recorded: false` and no run. A run its delivery already started (a delivery resumed after a
   * crash) is not inserted again: its result says `created: false` and names it. Without runs,
   * the outcome is the only statement.
   */
  async createForDelivery(input: DeliveryRuns, now: Date): Promise<DeliveryRunsResult> {
    if (input.runs.length === 0 && !input.push) {
      return { recorded: await new DeliveryRepository(this.db).complete(input.orgId, input.deliveryId, input.outcome, now, 'received'), runs: [] };
    }
    const made = await insertRuns(this.db, input.runs, now, input);
    const result: DeliveryRunsResult = { recorded: made.recorded, runs: made.runs.map((m) => this.kept(m)) };
    if (made.pushOwner !== undefined) result.pushOwner = made.pushOwner;
    return result;
  }

  /** Only once committed: what the statement wrote is what the run's actor would read back. */
  private kept(made: RunInsert): CreateRunResult {
    if (made.created) this.created.keep(made.records);
    return { created: made.created, runId: made.runId };
  }

  async get(runId: string): Promise<RunRecord | null> {
    const row = await this.db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
    return row ? toRun(row) : null;
  }

  /**
   * Everything a RunActor needs to rebuild its state, with its shard's epoch. Jobs in plan order.
   * `epoch` is the one the caller acts on the run's shard with: a run this process created at that
   * epoch is answered, once, from what its creation wrote, without reading it back. Any move of the
   * shard since would have raised the epoch, so nothing else can have written the run meanwhile.
   */
  async load(runId: string, options: { epoch?: number } = {}): Promise<RunSnapshot | null> {
    // Only the run's actor (which names its epoch) takes it; any other reader leaves it for the actor.
    const created = options.epoch === undefined ? undefined : this.created.take(runId);
    if (created && created.shardEpoch === options.epoch) return created;
    const row = await this.db
      .selectFrom('runs')
      .leftJoin('shards', 'shards.shard', 'runs.shard')
      .selectAll('runs')
      .select('shards.epoch as shard_epoch')
      .where('runs.id', '=', runId)
      .executeTakeFirst();
    if (!row) return null;
    const run = toRun(row);
    const jobs = await jobsOfRun(this.db, runId);
    const needs = await this.db.selectFrom('job_needs').selectAll().where('run_id', '=', runId).orderBy('job_id').orderBy('upstream_job_id').execute();
    const steps = await this.db
      .selectFrom('steps')
      .innerJoin('jobs', 'jobs.id', 'steps.job_id')
      .selectAll('steps')
      .where('jobs.run_id', '=', runId)
      .orderBy('steps.job_id')
      .orderBy('steps.step_index')
      .execute();
    return { run, shardEpoch: row.shard_epoch, jobs, needs: needs.map(toNeed), steps: steps.map(toStep) };
  }

  /** Newest first. */
  async list(filter: RunFilter = {}): Promise<RunRecord[]> {
    let query = this.db.selectFrom('runs').selectAll();
    if (filter.orgId !== undefined) query = query.where('org_id', '=', filter.orgId);
    if (filter.sourceId !== undefined) query = query.where('source_id', '=', filter.sourceId);
    if (filter.sourceIds !== undefined) query = query.where('source_id', 'in', filter.sourceIds);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.workflowName !== undefined) query = query.where('workflow_name', '=', filter.workflowName);
    if (filter.branch !== undefined) query = query.where('branch', '=', filter.branch);
    if (filter.before !== undefined) query = query.where('created_at', '<', filter.before);
    const rows = await query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 50)
      .execute();
    return rows.map(toRun);
  }

  /**
   * Runs not yet finished, oldest first (created, then id); optionally only those in `shards` (what
   * a node owns), or only those of one workflow `concurrency` group (what its admission rebuilds from).
   */
  async listNonTerminal(filter: { shards?: number[]; group?: ConcurrencyGroupFilter } = {}): Promise<RunRecord[]> {
    if (filter.shards !== undefined && filter.shards.length === 0) return [];
    let query = this.db.selectFrom('runs').selectAll().where('status', 'not in', TERMINAL_RUN_STATUSES);
    if (filter.shards !== undefined) query = query.where('shard', 'in', filter.shards);
    const group = filter.group;
    if (group !== undefined) {
      // Unfinished runs are few, and a source's workflow has fewer still: no index on the json field.
      query = query
        .where('source_id', group.sourceId === null ? 'is' : '=', group.sourceId)
        .where('workflow_name', '=', group.workflowName)
        .where(sql<string>`concurrency ->> 'group'`, '=', group.group);
    }
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(toRun);
  }

  async listForDelivery(orgId: string, deliveryId: string): Promise<RunRecord[]> {
    const rows = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('delivery_id', '=', deliveryId)
      .orderBy('created_at')
      .orderBy('workflow_name')
      .execute();
    return rows.map(toRun);
  }

  /**
   * Retention: finished runs whose step logs are still kept and that finished before `before`,
   * the longest finished first, at most `limit`.
   */
  async withExpiredLogs(before: Date, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('runs')
      .select('id')
      .where('finished_at', '<', before)
      .where('logs_removed_at', 'is', null)
      .where('status', 'in', TERMINAL_RUN_STATUSES)
      .orderBy('finished_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Record that these finished runs' step logs were deleted. Not a shard-fenced write: a finished
   * run has no writer left (its owner writes only until the run ends), and retention is the
   * coordinator's, fenced by its term when `claim` is given. Returns how many runs were newly marked.
   */
  async markLogsRemoved(runIds: readonly string[], at: Date, claim?: CoordinatorClaim): Promise<number> {
    if (runIds.length === 0) return 0;
    let query = this.db
      .updateTable('runs')
      .set({ logs_removed_at: at })
      .where('id', 'in', runIds)
      .where('logs_removed_at', 'is', null)
      .where('status', 'in', TERMINAL_RUN_STATUSES);
    if (claim) query = query.where(heldBy(claim));
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Fenced run update, in one statement (fence.ts). Returns false when the status guard did not
   * match; throws FencedWriteError when the run's shard row is not at `epoch`, NotFoundError when
   * there is no such run. `owner_epoch` records the epoch of the last write (diagnostics only: the
   * decision comes from the shard's row).
   */
  update(runId: string, epoch: number, changes: RunChanges, guard: StatusGuard<RunStatus> = {}): Promise<boolean> {
    return fencedUpdate(this.db, this.fencedWrite(runId, epoch, changes, guard));
  }

  /** The same write as `update`, in a group commit with the other run writes that come together. */
  write(runId: string, epoch: number, changes: RunChanges, guard: StatusGuard<RunStatus> = {}): Promise<boolean> {
    return this.batch.write({
      key: { id: runId },
      id: runId,
      epoch,
      changes,
      expectedStatus: guard.expectedStatus,
      alone: () => this.fencedWrite(runId, epoch, changes, guard),
    });
  }

  private fencedWrite(runId: string, epoch: number, changes: RunChanges, guard: StatusGuard<RunStatus>): FencedWrite {
    let update = this.db
      .updateTable('runs')
      .set({
        owner_epoch: epoch,
        ...(changes.status !== undefined && { status: changes.status }),
        ...(changes.error !== undefined && { error: changes.error }),
        ...(changes.startedAt !== undefined && { started_at: changes.startedAt }),
        ...(changes.finishedAt !== undefined && { finished_at: changes.finishedAt }),
        ...(changes.environment !== undefined && { environment: changes.environment }),
      })
      .where('id', '=', runId)
      .where(fenceHolds(epoch));
    if (guard.expectedStatus !== undefined) update = update.where('status', 'in', asList(guard.expectedStatus));
    return {
      entity: 'run',
      id: runId,
      epoch,
      fence: shardOfRun(runId),
      update: update.returning(sql<number>`1`.as('one')),
      row: sql`select 1 from runs where id = ${runId}`,
    };
  }
}

const RUNS: FencedTable = {
  table: 'runs',
  entity: 'run',
  keys: [['id', 'uuid']],
  toRun: 'join runs on runs.id = i.id',
  columns: [
    ['status', 'status', 'text'],
    ['error', 'error', 'text'],
    ['startedAt', 'started_at', 'timestamptz'],
    ['finishedAt', 'finished_at', 'timestamptz'],
    ['environment', 'environment', 'text'],
  ] satisfies [keyof RunChanges, string, string][],
  stampsEpoch: true,
};





