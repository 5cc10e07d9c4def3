/**
 * Step rows. A step has no epoch of its own: writes are fenced through its job's owner_epoch.
 */
import { sql } from 'kysely';
import type { Db } from './database.js';
import { FencedWriteError, NotFoundError } from './errors.js';
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

export class StepRepository {
  constructor(private readonly db: Db) {}

  /**
   * Fenced step update. Returns false when the status guard did not match; throws FencedWriteError
   * when a newer epoch owns the step's job, NotFoundError when the step does not exist.
   */
  async update(
    jobId: string,
    stepIndex: number,
    epoch: number,
    changes: StepChanges,
    guard: StatusGuard<StepStatus> = {},
  ): Promise<boolean> {
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
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('jobs')
            .select(sql.lit(1).as('one'))
            .whereRef('jobs.id', '=', 'steps.job_id')
            .where('jobs.owner_epoch', '<=', epoch),
        ),
      );
    if (guard.expectedStatus !== undefined) query = query.where('status', 'in', asList(guard.expectedStatus));
    const result = await query.executeTakeFirst();
    if (result.numUpdatedRows > 0n) return true;
    return explainStepMiss(this.db, jobId, stepIndex, epoch);
  }

  /** A job's steps in order. */
  async list(jobId: string): Promise<StepRecord[]> {
    const rows = await this.db.selectFrom('steps').selectAll().where('job_id', '=', jobId).orderBy('step_index').execute();
    return rows.map(toStep);
  }
}

async function explainStepMiss(db: Db, jobId: string, stepIndex: number, epoch: number): Promise<false> {
  const row = await db
    .selectFrom('steps')
    .innerJoin('jobs', 'jobs.id', 'steps.job_id')
    .select('jobs.owner_epoch')
    .where('steps.job_id', '=', jobId)
    .where('steps.step_index', '=', stepIndex)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('step', `${jobId}#${stepIndex}`);
  if (row.owner_epoch > epoch) throw new FencedWriteError('step', `${jobId}#${stepIndex}`, epoch, row.owner_epoch);
  return false;
}
