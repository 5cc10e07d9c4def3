/**
 * Creating runs in one statement: the shard rows share-locked and checked, a delivery's outcome
 * recorded (when creation comes from one), and every run with its jobs, needs edges and steps.
 * One statement is one transaction, so either all of it is written or none of it.
 *
 * The rows travel as jsonb parameters, so the statement's text is the same for a run of one job
 * or of 256, and PostgreSQL prepares it once. What the statement writes is known without reading
 * it back, so the records each run loads as are made here too (`CreatedRuns` hands them to the
 * run's actor).
 *
 * Order inside the statement: the shard rows are locked first (in shard order, so creators never
 * wait on each other in a cycle); the outcome is recorded only where every shard is at its
 * creator's epoch; a second processor of the same delivery waits on the delivery's row there and
 * then writes nothing. A run that its delivery already started (a resumed delivery) is left as it
 * is: the unique index on (org, delivery, workflow) turns the insert away, and the statement
 * answers with the run that was there.
 */
import { type Selectable, sql } from 'kysely';
import type { Db } from './database.js';
import { type DeliveryOutcome, outcomeUpdate } from './deliveries.js';
import { FencedWriteError } from './errors.js';
import { RefTipRepository } from './ref-tips.js';
import { toJob, toNeed, toRun, toStep } from './run-records.js';
import type { DeliveryStatus, JobNeedsTable, JobsTable, RunsTable, StepsTable } from './schema.js';
import type { NewRun, RunSnapshot } from './runs.js';
import { jsonText } from './sql-values.js';

/** A run created, with what it loads as (`load()` would read back the same), or the one that was there. */
export type RunInsert = { created: true; runId: string; records: RunSnapshot } | { created: false; runId: string };

export interface DeliveryOfRuns {
  orgId: string;
  deliveryId: string;
  /** Recorded only while the delivery is `received`. */
  outcome: DeliveryOutcome;
  /**
   * The push the delivery brought, claimed in the same statement: the outcome and the runs are
   * written only when this delivery owns the push (a first claim, or its own claim resumed).
   */
  push?: PushClaim;
}

/** A pushed commit of a source's ref; with `advanceTip`, also recorded as the ref's tip. */
export interface PushClaim {
  sourceId: string;
  ref: string;
  sha: string;
  advanceTip: boolean;
}

const RUN_RECORD = `id uuid, org_id text, source_id text, delivery_id text, workflow_name text, status text, attempt integer,
  shard integer, owner_epoch integer, event jsonb, repo_url text, ref text, sha text, branch text, error text, timeout_ms integer,
  concurrency jsonb, created_at timestamptz, started_at timestamptz, finished_at timestamptz, parent_run_id uuid`;

/** The inserts and the answer; what comes before them (the fence, maybe the outcome) differs. */
const INSERTS = sql.raw(`,
  go as (select (select ok from fenced) and (select recorded from outcome_ok) as ok),
  existing as (
    select x.id as wanted, runs.id from runs_in x join runs
      on runs.org_id = x.org_id and runs.delivery_id = x.delivery_id and runs.workflow_name = x.workflow_name
    where x.delivery_id is not null and x.parent_run_id is null and runs.parent_run_id is null),
  r as (
    insert into runs (id, org_id, source_id, delivery_id, workflow_name, status, attempt, shard, owner_epoch, event, repo_url, ref,
                      sha, branch, error, timeout_ms, concurrency, created_at, started_at, finished_at, parent_run_id)
    select id, org_id, source_id, delivery_id, workflow_name, status, attempt, shard, owner_epoch, event, repo_url, ref,
           sha, branch, error, timeout_ms, nullif(concurrency, 'null'::jsonb), created_at, started_at, finished_at, parent_run_id
    from runs_in where (select ok from go)
    on conflict (org_id, delivery_id, workflow_name) where delivery_id is not null and parent_run_id is null do nothing
    returning id),
  j as (
    insert into jobs (id, plan_index, run_id, name, base_name, matrix, config, status, needs_satisfied, outputs, finished_at,
                      dispatch_attempts, owner_epoch, created_at)
    select v.id, v.plan_index, v.run_id, v.name, v.base_name, nullif(v.matrix, 'null'::jsonb), v.config, v.status, v.needs_satisfied,
           nullif(v.outputs, 'null'::jsonb), v.finished_at, 0, v.owner_epoch, v.created_at
    from jobs_in v where v.run_id in (select id from r)
    returning 1),
  n as (
    insert into job_needs (run_id, job_id, upstream_job_id, run_on)
    select v.run_id, v.job_id, v.upstream_job_id, v.run_on from needs_in v where v.run_id in (select id from r)
    returning 1),
  s as (
    insert into steps (job_id, step_index, name, status, exit_code, log_bytes)
    select v.job_id, v.step_index, v.name, v.status, v.exit_code, 0 from steps_in v where v.run_id in (select id from r)
    returning 1)
  select (select ok from fenced) as fenced_ok, (select recorded from outcome_ok) as recorded,
    (select coalesce(json_agg(json_build_array(shard, epoch)), '[]') from fence) as fence,
    (select coalesce(json_agg(id), '[]') from r) as created,
    (select coalesce(json_agg(json_build_array(wanted, id)), '[]') from existing) as existing`);

interface Answer {
  fenced_ok: boolean;
  recorded: boolean;
  fence: [number, number][];
  created: string[];
  existing: [string, string][];
  delivery_status?: DeliveryStatus | null;
  /** With a push: the delivery that owns it (null when its claim is not visible to this statement). */
  push_owner?: string | null;
  claim_inserted?: boolean;
}

/**
 * Insert `runs`, each at its creator's epoch for its shard, and with `delivery` its outcome.
 * `recorded: false` (and nothing written) when the delivery was no longer `received`; throws
 * FencedWriteError (nothing written) when a run's shard row is not at its epoch.
 */
export async function insertRuns(
  db: Db,
  runs: readonly { run: NewRun; epoch: number }[],
  now: Date,
  delivery?: DeliveryOfRuns,
): Promise<InsertedRuns> {
  const rows = runs.map(({ run, epoch }) => planRows(run, epoch, now));
  const want = [...new Map(runs.map(({ run, epoch }) => [`${run.shard}:${epoch}`, { shard: run.shard, epoch }])).values()];
  const json = (value: unknown) => sql`cast(${jsonText(value)}::text as jsonb)`;
  const inputs = sql`with want as (select * from jsonb_to_recordset(${json(want)}) as w(shard integer, epoch integer)),
    runs_in as (select * from jsonb_to_recordset(${json(rows.map((r) => r.run))}) as v(${sql.raw(RUN_RECORD)})),
    jobs_in as (select * from jsonb_to_recordset(${json(rows.flatMap((r) => r.jobs))}) as v(id uuid, plan_index integer, run_id uuid, name text,
      base_name text, matrix jsonb, config jsonb, status text, needs_satisfied boolean, outputs jsonb, finished_at timestamptz,
      owner_epoch integer, created_at timestamptz)),
    needs_in as (select * from jsonb_to_recordset(${json(rows.flatMap((r) => r.needs))}) as v(run_id uuid, job_id uuid, upstream_job_id uuid, run_on jsonb)),
    steps_in as (select * from jsonb_to_recordset(${json(rows.flatMap((r) => r.steps))}) as v(run_id uuid, job_id uuid, step_index integer, name text,
      status text, exit_code integer)),
    fence as (select shard, epoch from shards where shard in (select shard from want) order by shard for share),
    fenced as (select not exists (select 1 from want left join fence on fence.shard = want.shard where fence.epoch is distinct from want.epoch) as ok)`;
  const push = delivery?.push ? pushClaim(delivery.deliveryId, delivery.push, now) : sql``;
  const owned = delivery?.push ? sql<boolean>`(select ok from claimed)` : sql<boolean>`true`;
  const outcome = delivery
    ? sql`${push}, outcome as (${outcomeUpdate(db, delivery.orgId, delivery.deliveryId, delivery.outcome, now, 'received')
        .where(sql<boolean>`(select ok from fenced)`)
        .where(owned)
        .returning(sql<number>`1`.as('one'))}),
      outcome_ok as (select exists (select 1 from outcome) as recorded),
      delivery_now as (select status from deliveries where org_id = ${delivery.orgId} and delivery_id = ${delivery.deliveryId})`
    : sql`, outcome_ok as (select true as recorded)`;
  const tail = delivery
    ? sql`, (select status from delivery_now) as delivery_status${delivery.push ? PUSH_ANSWER : sql``}`
    : sql``;
  const { rows: answers } = await sql<Answer>`${inputs}${outcome}${INSERTS}${tail}`.execute(db);
  const answer = answers[0];
  if (!answer) throw new Error('run creation returned no answer');
  if (!answer.fenced_ok) {
    // A delivery another node already recorded has nothing left to create here, fenced or not.
    if (delivery && answer.delivery_status !== 'received') return { recorded: false, runs: [] };
    throw fencedRun(runs, new Map(answer.fence));
  }
  if (delivery?.push && answer.push_owner !== delivery.deliveryId) return { recorded: false, runs: [], pushOwner: answer.push_owner ?? null };
  if (!answer.recorded) {
    // Claimed for a delivery another processor recorded meanwhile: the claim goes with it.
    if (delivery?.push && answer.claim_inserted) {
      const { sourceId, ref, sha } = delivery.push;
      await new RefTipRepository(db).releasePush(sourceId, ref, sha, delivery.deliveryId);
    }
    return { recorded: false, runs: [] };
  }
  const created = new Set(answer.created);
  const existing = new Map(answer.existing);
  const results: RunInsert[] = [];
  for (const [i, { run }] of runs.entries()) {
    if (created.has(run.id)) results.push({ created: true, runId: run.id, records: rows[i]!.records });
    else results.push({ created: false, runId: existing.get(run.id) ?? (await startedBefore(db, run)) });
  }
  return { recorded: true, runs: results };
}

export interface InsertedRuns {
  /** False (nothing written) when the delivery was no longer `received`, or another delivery owns its push. */
  recorded: boolean;
  runs: RunInsert[];
  /**
   * Set when the push is another delivery's: that delivery's id, or null when its claim was
   * committed after this statement began (and is not visible to it): ask again.
   */
  pushOwner?: string | null;
}

/**
 * The push's claim (only where every shard is at its epoch, so a fenced creation writes nothing),
 * its owner as this statement sees it, and with `advanceTip` the ref's new tip (recorded whoever
 * owns the push: a duplicate delivery still saw the branch there).
 */
function pushClaim(deliveryId: string, push: PushClaim, now: Date) {
  const { sourceId, ref, sha } = push;
  const tip = push.advanceTip
    ? sql`, tip as (insert into ref_tips (source_id, ref, sha, updated_at)
        select ${sourceId}::text, ${ref}::text, ${sha}::text, ${now}::timestamptz where (select ok from fenced)
        on conflict (source_id, ref) do update set sha = excluded.sha, updated_at = excluded.updated_at)`
    : sql``;
  return sql`, claim as (insert into ref_pushes (source_id, ref, sha, delivery_id, claimed_at)
      select ${sourceId}::text, ${ref}::text, ${sha}::text, ${deliveryId}::text, ${now}::timestamptz where (select ok from fenced)
      on conflict (source_id, ref, sha) do nothing returning delivery_id),
    claim_owner as (select coalesce((select delivery_id from claim),
      (select delivery_id from ref_pushes where source_id = ${sourceId} and ref = ${ref} and sha = ${sha})) as owner),
    claimed as (select coalesce((select owner from claim_owner) = ${deliveryId}::text, false) as ok)${tip}`;
}

const PUSH_ANSWER = sql.raw(`, (select owner from claim_owner) as push_owner, exists (select 1 from claim) as claim_inserted`);

/**
 * The run its delivery started for this workflow, committed by another writer after this
 * statement's snapshot was taken (its insert waited on that writer, then gave way).
 */
async function startedBefore(db: Db, run: NewRun): Promise<string> {
  const row = await db
    .selectFrom('runs')
    .select('id')
    .where('org_id', '=', run.orgId)
    .where('delivery_id', '=', run.deliveryId ?? null)
    .where('workflow_name', '=', run.workflowName)
    .where('parent_run_id', 'is', null)
    .executeTakeFirstOrThrow();
  return row.id;
}

function fencedRun(runs: readonly { run: NewRun; epoch: number }[], epochs: Map<number, number>): FencedWriteError {
  const first = runs.find(({ run, epoch }) => epochs.get(run.shard) !== epoch)!;
  return new FencedWriteError('run', first.run.id, first.epoch, epochs.get(first.run.shard) ?? null);
}

/** Ids as the database orders them (uuids compare as their lower-case text does). */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A run's rows as the statement takes them (JSON), and the records they load as, in `load()`'s order. */
function planRows(input: NewRun, epoch: number, now: Date) {
  const run: Selectable<RunsTable> = {
    id: input.id,
    org_id: input.orgId,
    source_id: input.sourceId,
    delivery_id: input.deliveryId ?? null,
    workflow_name: input.workflowName,
    status: input.status ?? 'pending',
    attempt: input.attempt ?? 1,
    shard: input.shard,
    owner_epoch: epoch,
    event: input.event,
    repo_url: input.repoUrl ?? null,
    ref: input.ref ?? null,
    sha: input.sha ?? null,
    branch: input.branch ?? null,
    error: input.error ?? null,
    timeout_ms: input.timeoutMs ?? null,
    concurrency: input.concurrency ?? null,
    created_at: now,
    started_at: input.startedAt ?? null,
    finished_at: input.finishedAt ?? null,
    parent_run_id: input.parentRunId ?? null,
    environment: null,
    logs_removed_at: null,
  };
  const jobs: Selectable<JobsTable>[] = input.jobs.map((job, planIndex) => ({
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
    environment_gate: null,
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
  const needs: Selectable<JobNeedsTable>[] = input.needs.map((need) => ({
    run_id: input.id,
    job_id: need.jobId,
    upstream_job_id: need.upstreamJobId,
    run_on: need.runOn ?? ['success'],
  }));
  const steps: (Selectable<StepsTable> & { run_id: string })[] = input.jobs.flatMap((job) =>
    job.steps.map((step, index) => ({
      run_id: input.id,
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
  const records: RunSnapshot = {
    run: toRun(run),
    shardEpoch: epoch,
    jobs: jobs.map(toJob),
    needs: needs.map(toNeed).sort((a, b) => (a.jobId !== b.jobId ? compare(a.jobId, b.jobId) : compare(a.upstreamJobId, b.upstreamJobId))),
    steps: steps.map(toStep).sort((a, b) => (a.jobId !== b.jobId ? compare(a.jobId, b.jobId) : a.stepIndex - b.stepIndex)),
  };
  return { run, jobs, needs, steps, records };
}
