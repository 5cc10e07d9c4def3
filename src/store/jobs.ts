/**
 * Job writes (fenced by the shard row of the job's run, optionally guarded by the expected status)
 * and the queries the stale/recovery/ack sweeps need.
 */
import { sql, type UpdateQueryBuilder, type UpdateResult } from 'kysely';
import type { Db } from './database.js';
import { fencedOutcome, type FencedWrite, fenceHolds, judgeFenced, shardOfJob } from './fence.js';
import { FencedBatchWriter, type FencedTable } from './fenced-batch.js';
import { type JobNeed, type JobRecord, toJob, toNeed } from './run-records.js';
import { asList, type StatusGuard } from './guards.js';
import { type JobStatus, type StoreSchema, TERMINAL_JOB_STATUSES } from './schema.js';
import { jsonb } from './sql-values.js';

export interface JobChanges {
  status?: JobStatus;
  needsSatisfied?: boolean;
  agentId?: string | null;
  previousAgentId?: string | null;
  /** Add to dispatch_attempts (atomically, in SQL). */
  addDispatchAttempts?: number;
  /** Set dispatch_attempts outright (the run actor counts attempts itself). */
  dispatchAttempts?: number;
  dispatchedAt?: Date | null;
  ackDeadline?: Date | null;
  ackedAt?: Date | null;
  recoveryDeadline?: Date | null;
  lastHeartbeatAt?: Date | null;
  outputs?: Record<string, unknown> | null;
  error?: string | null;
  startedAt?: Date | null;
  finishedAt?: Date | null;
  /** Where a gated job stands at its environments' gates, with its group slots (the run domain's JobGate). */
  environmentGate?: unknown;
}

function changeSet(changes: JobChanges, epoch: number) {
  return {
    owner_epoch: epoch,
    ...(changes.status !== undefined && { status: changes.status }),
    ...(changes.needsSatisfied !== undefined && { needs_satisfied: changes.needsSatisfied }),
    ...(changes.agentId !== undefined && { agent_id: changes.agentId }),
    ...(changes.previousAgentId !== undefined && { previous_agent_id: changes.previousAgentId }),
    ...(changes.addDispatchAttempts !== undefined && {
      dispatch_attempts: sql<number>`dispatch_attempts + ${changes.addDispatchAttempts}`,
    }),
    ...(changes.dispatchAttempts !== undefined && { dispatch_attempts: changes.dispatchAttempts }),
    ...(changes.dispatchedAt !== undefined && { dispatched_at: changes.dispatchedAt }),
    ...(changes.ackDeadline !== undefined && { ack_deadline: changes.ackDeadline }),
    ...(changes.ackedAt !== undefined && { acked_at: changes.ackedAt }),
    ...(changes.recoveryDeadline !== undefined && { recovery_deadline: changes.recoveryDeadline }),
    ...(changes.lastHeartbeatAt !== undefined && { last_heartbeat_at: changes.lastHeartbeatAt }),
    ...(changes.outputs !== undefined && { outputs: changes.outputs === null ? null : jsonb(changes.outputs) }),
    ...(changes.error !== undefined && { error: changes.error }),
    ...(changes.startedAt !== undefined && { started_at: changes.startedAt }),
    ...(changes.finishedAt !== undefined && { finished_at: changes.finishedAt }),
    ...(changes.environmentGate !== undefined && { environment_gate: changes.environmentGate === null ? null : jsonb(changes.environmentGate) }),
  };
}

type JobUpdate = UpdateQueryBuilder<StoreSchema, 'jobs', 'jobs', UpdateResult>;

/** A run's jobs in plan order (name as the tie-break for rows older than plan_index). */
export async function jobsOfRun(db: Db, runId: string): Promise<JobRecord[]> {
  const rows = await db
    .selectFrom('jobs')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('created_at')
    .orderBy('plan_index')
    .orderBy('name')
    .execute();
  return rows.map(toJob);
}

/** A job write that can share a statement with others: every change but the atomic increment. */
export type BatchableJobChanges = Omit<JobChanges, 'addDispatchAttempts'>;

const JOBS: FencedTable = {
  table: 'jobs',
  entity: 'job',
  keys: [['id', 'uuid']],
  toRun: 'join jobs on jobs.id = i.id join runs on runs.id = jobs.run_id',
  columns: [
    ['status', 'status', 'text'],
    ['needsSatisfied', 'needs_satisfied', 'boolean'],
    ['agentId', 'agent_id', 'text'],
    ['previousAgentId', 'previous_agent_id', 'text'],
    ['dispatchAttempts', 'dispatch_attempts', 'integer'],
    ['dispatchedAt', 'dispatched_at', 'timestamptz'],
    ['ackDeadline', 'ack_deadline', 'timestamptz'],
    ['ackedAt', 'acked_at', 'timestamptz'],
    ['recoveryDeadline', 'recovery_deadline', 'timestamptz'],
    ['lastHeartbeatAt', 'last_heartbeat_at', 'timestamptz'],
    ['outputs', 'outputs', 'jsonb'],
    ['error', 'error', 'text'],
    ['startedAt', 'started_at', 'timestamptz'],
    ['finishedAt', 'finished_at', 'timestamptz'],
    ['environmentGate', 'environment_gate', 'jsonb'],
  ] satisfies [keyof BatchableJobChanges, string, string][],
  stampsEpoch: true,
};

export class JobRepository {
  /** The run actors' job writes, sent together when they come at about the same time. */
  private readonly batch: FencedBatchWriter;

  constructor(private readonly db: Db) {
    this.batch = new FencedBatchWriter(db, JOBS);
  }

  /**
   * The same write as `update`, in a group commit: writes from many runs that arrive together
   * leave in one statement, and each resolves (or fails) on its own.
   */
  write(jobId: string, epoch: number, changes: BatchableJobChanges, guard: StatusGuard<JobStatus> = {}): Promise<boolean> {
    return this.batch.write({
      key: { id: jobId },
      id: jobId,
      epoch,
      changes,
      expectedStatus: guard.expectedStatus,
      alone: () => this.fencedWrite(jobId, epoch, this.updateQuery(jobId, epoch, changes, guard)),
    });
  }

  /**
   * Fenced job update, in one statement (fence.ts). Returns false when the status guard did not
   * match (someone else moved the job first); throws FencedWriteError when the shard row of the
   * job's run is not at `epoch`, NotFoundError when the job is gone.
   */
  async update(jobId: string, epoch: number, changes: JobChanges, guard: StatusGuard<JobStatus> = {}): Promise<boolean> {
    return this.fenced(jobId, epoch, this.updateQuery(jobId, epoch, changes, guard));
  }

  private updateQuery(jobId: string, epoch: number, changes: JobChanges, guard: StatusGuard<JobStatus>): JobUpdate {
    const query = this.db.updateTable('jobs').set(changeSet(changes, epoch)).where('id', '=', jobId);
    return guard.expectedStatus !== undefined ? query.where('status', 'in', asList(guard.expectedStatus)) : query;
  }

  /**
   * Status change with its timestamps: `running` stamps started_at (once) and the first heartbeat;
   * a terminal status stamps finished_at.
   */
  async updateStatus(
    jobId: string,
    epoch: number,
    status: JobStatus,
    now: Date,
    options: { expectedStatus?: JobStatus | readonly JobStatus[]; error?: string | null; outputs?: Record<string, unknown> } = {},
  ): Promise<boolean> {
    const changes: JobChanges = { status };
    if (options.error !== undefined) changes.error = options.error;
    if (options.outputs !== undefined) changes.outputs = options.outputs;
    if (status === 'running') changes.lastHeartbeatAt = now;
    if ((TERMINAL_JOB_STATUSES as readonly JobStatus[]).includes(status)) changes.finishedAt = now;
    const set = changeSet(changes, epoch);
    let query = this.db
      .updateTable('jobs')
      .set(status === 'running' ? { ...set, started_at: sql<Date>`coalesce(started_at, ${now})` } : set)
      .where('id', '=', jobId);
    if (options.expectedStatus !== undefined) query = query.where('status', 'in', asList(options.expectedStatus));
    return this.fenced(jobId, epoch, query);
  }

  private async fenced(jobId: string, epoch: number, update: JobUpdate): Promise<boolean> {
    const write = this.fencedWrite(jobId, epoch, update);
    return judgeFenced(write, await fencedOutcome(this.db, write));
  }

  private fencedWrite(jobId: string, epoch: number, update: JobUpdate): FencedWrite {
    return {
      entity: 'job',
      id: jobId,
      epoch,
      fence: shardOfJob(jobId),
      update: update.where(fenceHolds(epoch)).returning(sql<number>`1`.as('one')),
      row: sql`select 1 from jobs where id = ${jobId}`,
    };
  }

  async get(jobId: string): Promise<JobRecord | null> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    return row ? toJob(row) : null;
  }

  /** A run's jobs in plan order. */
  list(runId: string): Promise<JobRecord[]> {
    return jobsOfRun(this.db, runId);
  }

  async listNeeds(runId: string): Promise<JobNeed[]> {
    const rows = await this.db.selectFrom('job_needs').selectAll().where('run_id', '=', runId).execute();
    return rows.map(toNeed);
  }

  async listByStatus(statuses: JobStatus | readonly JobStatus[], filter: { runId?: string; agentId?: string } = {}): Promise<JobRecord[]> {
    let query = this.db.selectFrom('jobs').selectAll().where('status', 'in', asList(statuses));
    if (filter.runId !== undefined) query = query.where('run_id', '=', filter.runId);
    if (filter.agentId !== undefined) query = query.where('agent_id', '=', filter.agentId);
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(toJob);
  }

  /**
   * Running jobs whose last heartbeat is older than `threshold`, or that never sent one and started
   * before it (execution.md §6, steps A and B).
   */
  async listStaleRunning(threshold: Date, options: { createdAfter?: Date } = {}): Promise<JobRecord[]> {
    let query = this.db
      .selectFrom('jobs')
      .selectAll()
      .where('status', '=', 'running')
      .where((eb) =>
        eb.or([
          eb('last_heartbeat_at', '<', threshold),
          eb.and([eb('last_heartbeat_at', 'is', null), eb(eb.fn.coalesce('started_at', 'created_at'), '<', threshold)]),
        ]),
      );
    // Bounding the scan by age keeps it cheap on a large table (execution.md §6 looks back 24 h).
    if (options.createdAfter !== undefined) query = query.where('created_at', '>', options.createdAfter);
    const rows = await query.orderBy('created_at').execute();
    return rows.map(toJob);
  }

  /** Jobs in recovery whose window has closed. */
  async listOverdueRecoveries(now: Date): Promise<JobRecord[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('status', '=', 'recovering')
      .where('recovery_deadline', '<=', now)
      .orderBy('recovery_deadline')
      .execute();
    return rows.map(toJob);
  }

  /** Dispatched jobs (queued with an agent) whose ack never came before the deadline. */
  async listOverdueAcks(now: Date): Promise<JobRecord[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('status', '=', 'queued')
      .where('acked_at', 'is', null)
      .where('ack_deadline', '<=', now)
      .orderBy('ack_deadline')
      .execute();
    return rows.map(toJob);
  }

  /**
   * The slots unfinished jobs of `orgId`'s runs hold or wait for in concurrency group `group`
   * (`jobs.environment_gate`, migration 013, through its GIN index): what an EnvGroupActor rebuilds from.
   */
  async environmentSlots(orgId: string, group: string): Promise<{ runId: string; jobId: string; slot: GateSlotRow }[]> {
    const result = await sql<{ run_id: string; job_id: string; slot: GateSlotRow }>`
      select j.run_id, j.id as job_id, s.value as slot
      from jobs j
      join runs r on r.id = j.run_id
      cross join lateral jsonb_array_elements(j.environment_gate -> 'slots') as s(value)
      where j.environment_gate is not null
        and j.status in ('pending', 'queued', 'running', 'recovering', 'cancelling')
        and (j.environment_gate -> 'slots') @> ${jsonb([{ group }])}
        and r.org_id = ${orgId}
        and s.value ->> 'group' = ${group}`.execute(this.db);
    return result.rows.map((r) => ({ runId: r.run_id, jobId: r.job_id, slot: r.slot }));
  }
}

/** One slot as the run domain stores it on the job (its GateSlot; times in ms). */
export interface GateSlotRow {
  group: string;
  state: 'waiting' | 'held';
  requestedAt: number;
  limit: number;
  strategy: 'queue' | 'cancel-pending';
  rulesAt: number;
}
