/**
 * Runs: creation (with all jobs, needs edges and steps, in one transaction), loading, listing, and
 * the run-level writes a RunActor makes. Every write, creation included, is fenced by the run's
 * shard row (fence.ts): it goes through only at the epoch that row holds.
 * Creation spans the jobs, job_needs and steps tables too: that transaction stays in here, and so
 * does a delivery's (`createForDelivery`: its outcome and all its runs at once).
 */
import { sql } from 'kysely';
import type { Db } from './database.js';
import { DeliveryRepository, type DeliveryOutcome } from './deliveries.js';
import { FencedWriteError } from './errors.js';
import { fencedUpdate, fenceHolds, holdShard, shardOfRun } from './fence.js';
import { asList, inTransaction, type StatusGuard } from './guards.js';
import { type JobNeed, type JobRecord, type RunRecord, type StepRecord, toJob, toNeed, toRun, toStep } from './run-records.js';
import { CreatedRuns } from './created-runs.js';
import { type JobStatus, type RunConcurrency, type RunStatus, type StepStatus, TERMINAL_RUN_STATUSES } from './schema.js';
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

  constructor(private readonly db: Db) {}

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
      // First, so a second processor of the same delivery waits on its row and then writes nothing.
      const recorded = await new DeliveryRepository(trx).complete(input.orgId, input.deliveryId, input.outcome, now, 'received');
      if (!recorded) return null;
      await holdShards(trx, input.runs);
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
  async update(runId: string, epoch: number, changes: RunChanges, guard: StatusGuard<RunStatus> = {}): Promise<boolean> {
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
    return fencedUpdate(this.db, {
      entity: 'run',
      id: runId,
      epoch,
      fence: shardOfRun(runId),
      update: update.returning(sql<number>`1`.as('one')),
      row: sql`select 1 from runs where id = ${runId}`,
    });
  }
}

type InsertedRun = CreateRunResult & { snapshot?: RunSnapshot };

/** Inside a transaction that holds the run's shard row at `epoch`: the run, its jobs, needs and steps. */
async function insertRun(trx: Db, input: NewRun, epoch: number, now: Date): Promise<InsertedRun> {
  const inserted = await trx
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
    .returningAll()
    .executeTakeFirst();
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
  const rows = await insertJobs(trx, input, epoch, now);
  return { created: true, runId: input.id, snapshot: { run: toRun(inserted), shardEpoch: epoch, ...rows } };
}

/**
 * Inside a transaction: share-lock the shard rows of all `runs` in one statement and insist each is
 * at its run's epoch (holdShard, for several runs at once). Throws FencedWriteError for the first
 * run whose shard is elsewhere (or has no row).
 */
async function holdShards(trx: Db, runs: { run: NewRun; epoch: number }[]): Promise<void> {
  const shards = [...new Set(runs.map((r) => r.run.shard))].sort((a, b) => a - b);
  const rows = await trx.selectFrom('shards').select(['shard', 'epoch']).where('shard', 'in', shards).orderBy('shard').forShare().execute();
  const epochs = new Map(rows.map((r) => [r.shard, r.epoch]));
  for (const { run, epoch } of runs) {
    const current = epochs.get(run.shard) ?? null;
    if (current !== epoch) throw new FencedWriteError('run', run.id, epoch, current);
  }
}

async function insertJobs(db: Db, input: NewRun, epoch: number, now: Date): Promise<Pick<RunSnapshot, 'jobs' | 'needs' | 'steps'>> {
  if (input.jobs.length === 0) return { jobs: [], needs: [], steps: [] };
  const jobs = await db
    .insertInto('jobs')
    .values(
      input.jobs.map((job, planIndex) => ({
        id: job.id,
        plan_index: planIndex,
        run_id: input.id,
        name: job.name,
        base_name: job.baseName,
        matrix: job.matrix == null ? null : jsonb(job.matrix),
        config: jsonb(job.config),
        status: job.status ?? 'pending',
        needs_satisfied: job.needsSatisfied,
        outputs: job.outputs == null ? null : jsonb(job.outputs),
        finished_at: job.finishedAt ?? null,
        dispatch_attempts: 0,
        owner_epoch: epoch,
        created_at: now,
      })),
    )
    .returningAll()
    .execute();
  const needs =
    input.needs.length === 0
      ? []
      : await db
          .insertInto('job_needs')
          .values(
            input.needs.map((need) => ({
              run_id: input.id,
              job_id: need.jobId,
              upstream_job_id: need.upstreamJobId,
              run_on: jsonb(need.runOn ?? ['success']),
            })),
          )
          .returningAll()
          .execute();
  const stepRows = input.jobs.flatMap((job) =>
    job.steps.map((step, index) => ({
      job_id: job.id,
      step_index: index,
      name: step.name,
      status: step.status ?? ('pending' as const),
      exit_code: step.exitCode ?? null,
      log_bytes: 0,
    })),
  );
  const steps = stepRows.length === 0 ? [] : await db.insertInto('steps').values(stepRows).returningAll().execute();
  // In the order load() reads them back: jobs by plan index (one creation time), steps by job and index.
  const byPlan = new Map(input.jobs.map((j, i) => [j.id, i]));
  return {
    jobs: jobs.map(toJob).sort((a, b) => byPlan.get(a.id)! - byPlan.get(b.id)!),
    needs: needs.map(toNeed),
    steps: steps.map(toStep).sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : a.stepIndex - b.stepIndex)),
  };
}
