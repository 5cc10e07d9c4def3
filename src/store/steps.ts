/**
 * Step rows. A step's writes are fenced by the shard row of its job's run (fence.ts).
 */
import { sql } from 'kysely';
import type { Db } from './database.js';
import { fencedUpdate, type FencedWrite, fenceHolds, shardOfJob } from './fence.js';
import { FencedBatchWriter, type FencedTable } from './fenced-batch.js';
import { type StepRecord, toStep } from './run-records.js';
import { asList, type StatusGuard } from './guards.js';
import type { StepStatus } from './schema.js';

export interface StepChanges {
  status?: StepStatus;
  exitCode?: number | null;
  error?: string | null;
  logBytes?: number;
  startedAt?: Date | null;
  finishedAt?: Date | null;
}

/** A step write sets something (a step row has no epoch to stamp): alone or batched, an empty one is refused alike. */
function changing(changes: StepChanges): void {
  if (Object.values(changes).every((v) => v === undefined)) throw new Error('a step write must change at least one field');
}

const STEPS: FencedTable = {
  table: 'steps',
  entity: 'step',
  keys: [
    ['job_id', 'uuid'],
    ['step_index', 'integer'],
  ],
  toRun: 'join jobs on jobs.id = i.job_id join runs on runs.id = jobs.run_id',
  columns: [
    ['status', 'status', 'text'],
    ['exitCode', 'exit_code', 'integer'],
    ['error', 'error', 'text'],
    ['logBytes', 'log_bytes', 'integer'],
    ['startedAt', 'started_at', 'timestamptz'],
    ['finishedAt', 'finished_at', 'timestamptz'],
  ] satisfies [keyof StepChanges, string, string][],
  stampsEpoch: false,
};

export class StepRepository {
  /** The run actors' step writes, sent together when they come at about the same time. */
  private readonly batch: FencedBatchWriter;

  constructor(private readonly db: Db) {
    this.batch = new FencedBatchWriter(db, STEPS);
  }

  /**
   * Fenced step update, in one statement. Returns false when the status guard did not match; throws
   * FencedWriteError when the shard row of the step's run is not at `epoch`, NotFoundError when the
   * step does not exist.
   */
  async update(jobId: string, stepIndex: number, epoch: number, changes: StepChanges, guard: StatusGuard<StepStatus> = {}): Promise<boolean> {
    changing(changes);
    return fencedUpdate(this.db, this.fencedWrite(jobId, stepIndex, epoch, changes, guard));
  }

  /** The same write as `update`, in a group commit with the other step writes that come together. */
  async write(jobId: string, stepIndex: number, epoch: number, changes: StepChanges, guard: StatusGuard<StepStatus> = {}): Promise<boolean> {
    changing(changes);
    return this.batch.write({
      key: { job_id: jobId, step_index: stepIndex },
      id: `${jobId}#${stepIndex}`,
      epoch,
      changes,
      expectedStatus: guard.expectedStatus,
      alone: () => this.fencedWrite(jobId, stepIndex, epoch, changes, guard),
    });
  }

  private fencedWrite(jobId: string, stepIndex: number, epoch: number, changes: StepChanges, guard: StatusGuard<StepStatus>): FencedWrite {
    let query = this.db
      .updateTable('steps')
      .set({
        ...(changes.status !== undefined && { status: changes.status }),
        ...(changes.exitCode !== undefined && { exit_code: changes.exitCode }),
        ...(changes.error !== undefined && { error: changes.error }),
        ...(changes.logBytes !== undefined && { log_bytes: changes.logBytes }),
        ...(changes.startedAt !== undefined && { started_at: changes.startedAt }),
        ...(changes.finishedAt !== undefined && { finished_at: changes.finishedAt }),
      })
      .where('job_id', '=', jobId)
      .where('step_index', '=', stepIndex)
      .where(fenceHolds(epoch));
    if (guard.expectedStatus !== undefined) query = query.where('status', 'in', asList(guard.expectedStatus));
    return {
      entity: 'step',
      id: `${jobId}#${stepIndex}`,
      epoch,
      fence: shardOfJob(jobId),
      update: query.returning(sql<number>`1`.as('one')),
      row: sql`select 1 from steps where job_id = ${jobId} and step_index = ${stepIndex}`,
    };
  }

  /** A job's steps in order. */
  async list(jobId: string): Promise<StepRecord[]> {
    const rows = await this.db.selectFrom('steps').selectAll().where('job_id', '=', jobId).orderBy('step_index').execute();
    return rows.map(toStep);
  }
}
