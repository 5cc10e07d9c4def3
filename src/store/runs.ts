/**
 * Runs: creation (with all jobs, needs edges and steps, in one transaction), loading, listing, and
 * the run-level writes a RunActor makes. Every write, creation included, is fenced by the run's
 * shard row (fence.ts): it goes through only at the epoch that row holds.
 * Creation spans the jobs, job_needs and steps tables too: that transaction stays in here, and so
 * does a delivery's (`createForDelivery`: its outcome and all its runs at once).
 */
import { type Selectable, sql } from 'kysely';
import type { Db } from './database.js';
import { DeliveryRepository, type DeliveryOutcome, outcomeUpdate } from './deliveries.js';
import { FencedWriteError } from './errors.js';
import { fencedUpdate, type FencedWrite, fenceHolds, holdShard, shardOfRun } from './fence.js';
import { FencedBatchWriter, type FencedTable } from './fenced-batch.js';
import { asList, inTransaction, type StatusGuard } from './guards.js';
import { type JobNeed, type JobRecord, type RunRecord, type StepRecord, toJob, toNeed, toRun, toStep } from './run-records.js';
import { CreatedRuns } from './created-runs.js';
import {
  type JobNeedsTable,
  type JobsTable,
  type JobStatus,
  type RunConcurrency,
  type RunsTable,
  type RunStatus,
  type StepsTable,
  type StepStatus,
  TERMINAL_RUN_STATUSES,
} from './schema.js';
import { jsonb } from './sql-values.js';
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
}

export interface DeliveryRunsResult {
  /** False when the delivery was no longer `received`: nothing was written. */
  recorded: boolean;
  /** One per run given, in order (empty when not recorded). */
  runs: CreateRunResult[];
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
  status?: RunStatus;
  workflowName?: string;
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
    const made = await inTransaction(this.db, async (trx) => {
      await holdShard(trx, input.shard, epoch, 'run', input.id);
      return insertRun(trx, input, epoch, now);
    });
    return this.kept(made);
  }

  /**
   * Everything a delivery leads to, in one transaction: its outcome recorded (only from
   * `received`), then every run it starts, each with its jobs, needs edges and steps, at the epoch
   * its creator knows for the run's shard. One statement share-locks the shard rows of all the runs;
   * unless each is at its run's epoch, FencedWriteError is thrown and nothing is written (the
   * delivery stays `received` for the owner of its shard). A delivery no longer `received` (another
   * node recorded it) gets `recorded: false` and no run. A run its delivery already started (a
   * delivery resumed after a crash) is not inserted again: its result says `created: false` and
   * names it. Without runs, the outcome is the only statement.
   */
  async createForDelivery(input: DeliveryRuns, now: Date): Promise<DeliveryRunsResult> {
    if (input.runs.length === 0) {
      return { recorded: await new DeliveryRepository(this.db).complete(input.orgId, input.deliveryId, input.outcome, now, 'received'), runs: [] };
    }
    const made = await inTransaction(this.db, async (trx) => {
      // One statement records the outcome and share-locks the shards: a second processor of the
      // same delivery waits on its row there and then writes nothing.
      if (!(await recordAndHoldShards(trx, input, now))) return null;
      const runs = [];
      for (const { run, epoch } of input.runs) runs.push(await insertRun(trx, run, epoch, now));
      return runs;
    });
    if (!made) return { recorded: false, runs: [] };
    return { recorded: true, runs: made.map((m) => this.kept(m)) };
  }

  /** Only once committed: what the transaction wrote is what the run's actor would read back. */
  private kept(made: InsertedRun): CreateRunResult {
    if (made.snapshot) this.created.keep(made.snapshot);
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
    const needs = await this.db.selectFrom('job_needs').selectAll().where('run_id', '=', runId).execute();
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
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.workflowName !== undefined) query = query.where('workflow_name', '=', filter.workflowName);
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
    const expected = guard.expectedStatus;
    return this.batch.write({
      key: { id: runId },
      id: runId,
      epoch,
      changes,
      ...(expected !== undefined && { expectedStatus: asList(expected) }),
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
  ] satisfies [keyof RunChanges, string, string][],
  stampsEpoch: true,
};

type InsertedRun = CreateRunResult & { snapshot?: RunSnapshot };

/**
 * Inside a transaction that holds the run's shard row at `epoch`: the run, its jobs, needs and
 * steps, in one statement. The jobs, needs and steps go in only with the run (a run this delivery
 * already started is left as it is); what the statement wrote is known without reading it back,
 * so the run's first load can take it (`CreatedRuns`).
 */
async function insertRun(trx: Db, input: NewRun, epoch: number, now: Date): Promise<InsertedRun> {
  const run = trx
    .insertInto('runs')
    .values({
      id: input.id,
      org_id: input.orgId,
      source_id: input.sourceId,
      delivery_id: input.deliveryId ?? null,
      workflow_name: input.workflowName,
      status: input.status ?? 'pending',
      attempt: input.attempt ?? 1,
      shard: input.shard,
      owner_epoch: epoch,
      event: jsonb(input.event),
      repo_url: input.repoUrl ?? null,
      ref: input.ref ?? null,
      sha: input.sha ?? null,
      branch: input.branch ?? null,
      parent_run_id: input.parentRunId ?? null,
      timeout_ms: input.timeoutMs ?? null,
      concurrency: input.concurrency == null ? null : jsonb(input.concurrency),
      error: input.error ?? null,
      started_at: input.startedAt ?? null,
      finished_at: input.finishedAt ?? null,
      created_at: now,
    })
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'delivery_id', 'workflow_name'])
        .where('delivery_id', 'is not', null)
        .where('parent_run_id', 'is', null)
        .doNothing(),
    )
    .returningAll();
  const plan = planRows(input, epoch, now);
  const { rows } = await sql<Selectable<RunsTable>>`
    with r as (${run}),
    j as (insert into jobs (id, plan_index, run_id, name, base_name, matrix, config, status, needs_satisfied, outputs, finished_at, dispatch_attempts, owner_epoch, created_at)
      select v.id, v.plan_index, v.run_id, v.name, v.base_name, nullif(v.matrix, 'null'::jsonb), v.config, v.status, v.needs_satisfied,
             nullif(v.outputs, 'null'::jsonb), v.finished_at, 0, v.owner_epoch, v.created_at
      from jsonb_to_recordset(cast(${JSON.stringify(plan.jobs)}::text as jsonb)) as v(id uuid, plan_index integer, run_id uuid, name text,
        base_name text, matrix jsonb, config jsonb, status text, needs_satisfied boolean, outputs jsonb, finished_at timestamptz,
        owner_epoch integer, created_at timestamptz)
      where exists (select 1 from r) returning 1),
    n as (insert into job_needs (run_id, job_id, upstream_job_id, run_on)
      select v.run_id, v.job_id, v.upstream_job_id, v.run_on
      from jsonb_to_recordset(cast(${JSON.stringify(plan.needs)}::text as jsonb)) as v(run_id uuid, job_id uuid, upstream_job_id uuid, run_on jsonb)
      where exists (select 1 from r) returning 1),
    s as (insert into steps (job_id, step_index, name, status, exit_code, log_bytes)
      select v.job_id, v.step_index, v.name, v.status, v.exit_code, 0
      from jsonb_to_recordset(cast(${JSON.stringify(plan.steps)}::text as jsonb)) as v(job_id uuid, step_index integer, name text, status text, exit_code integer)
      where exists (select 1 from r) returning 1)
    select * from r`.execute(trx);
  const inserted = rows[0];
  if (!inserted) {
    const existing = await trx
      .selectFrom('runs')
      .select('id')
      .where('org_id', '=', input.orgId)
      .where('delivery_id', '=', input.deliveryId ?? null)
      .where('workflow_name', '=', input.workflowName)
      .where('parent_run_id', 'is', null)
      .executeTakeFirstOrThrow();
    return { created: false, runId: existing.id };
  }
  return { created: true, runId: input.id, snapshot: { run: toRun(inserted), shardEpoch: epoch, ...plan.records } };
}

/**
 * The rows of a run's plan as the creation statement takes them (JSON), and the records they
 * load as, in the order `load()` reads them back: jobs by plan index, steps by job and index.
 */
function planRows(input: NewRun, epoch: number, now: Date) {
  const jobRows: Selectable<JobsTable>[] = input.jobs.map((job, planIndex) => ({
    id: job.id,
    plan_index: planIndex,
    run_id: input.id,
    name: job.name,
    base_name: job.baseName,
    matrix: job.matrix ?? null,
    config: job.config,
    status: job.status ?? 'pending',
    needs_satisfied: job.needsSatisfied,
    agent_id: null,
    previous_agent_id: null,
    dispatch_attempts: 0,
    dispatched_at: null,
    ack_deadline: null,
    acked_at: null,
    recovery_deadline: null,
    last_heartbeat_at: null,
    outputs: job.outputs ?? null,
    error: null,
    owner_epoch: epoch,
    created_at: now,
    started_at: null,
    finished_at: job.finishedAt ?? null,
  }));
  const needRows: Selectable<JobNeedsTable>[] = input.needs.map((need) => ({
    run_id: input.id,
    job_id: need.jobId,
    upstream_job_id: need.upstreamJobId,
    run_on: need.runOn ?? ['success'],
  }));
  const stepRows: Selectable<StepsTable>[] = input.jobs.flatMap((job) =>
    job.steps.map((step, index) => ({
      job_id: job.id,
      step_index: index,
      name: step.name,
      status: step.status ?? ('pending' as const),
      exit_code: step.exitCode ?? null,
      error: null,
      log_bytes: 0,
      started_at: null,
      finished_at: null,
    })),
  );
  return {
    jobs: jobRows,
    needs: needRows,
    steps: stepRows.map(({ job_id, step_index, name, status, exit_code }) => ({ job_id, step_index, name, status, exit_code })),
    records: {
      jobs: jobRows.map(toJob),
      needs: needRows.map(toNeed),
      steps: stepRows.map(toStep).sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : a.stepIndex - b.stepIndex)),
    },
  };
}

/**
 * Inside a transaction, in one statement: record the delivery's outcome (only from `received`) and
 * share-lock the shard rows of all its runs (holdShard, for several runs at once). false when the
 * delivery was no longer `received`; throws FencedWriteError for the first run whose shard is
 * elsewhere (or has no row).
 */
async function recordAndHoldShards(trx: Db, input: DeliveryRuns, now: Date): Promise<boolean> {
  const shards = [...new Set(input.runs.map((r) => r.run.shard))].sort((a, b) => a - b);
  const recording = outcomeUpdate(trx, input.orgId, input.deliveryId, input.outcome, now, 'received').returning(sql<number>`1`.as('one'));
  const { rows } = await sql<{ recorded: boolean; shard: number | null; epoch: number | null }>`
    with outcome as (${recording}),
    fence as (select shard, epoch from shards where shard = any(cast(${`{${shards.join(',')}}`}::text as integer[])) order by shard for share)
    select exists (select 1 from outcome) as recorded, fence.shard, fence.epoch
    from (select 1) as one left join fence on true`.execute(trx);
  if (!rows[0]?.recorded) return false;
  const epochs = new Map(rows.filter((r) => r.shard !== null).map((r) => [r.shard!, r.epoch]));
  for (const { run, epoch } of input.runs) {
    const current = epochs.get(run.shard) ?? null;
    if (current !== epoch) throw new FencedWriteError('run', run.id, epoch, current);
  }
  return true;
}

