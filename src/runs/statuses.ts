/**
 * The statuses stored in the database and shown to users. They are not the 11 machine states:
 * a run has its own small set, and jobs have two failure flavours (`timed_out_stale`,
 * `drift_dropped`) that the machine reaches through FAIL.
 */
import * as vocabulary from '../vocabulary/index.js';
import type { JobStatus, RunStatus, StepStatus } from '../vocabulary/index.js';
import type { ExecState } from './state-machine.js';

export { JOB_STATUSES, RUN_STATUSES, STEP_STATUSES, type JobStatus, type RunStatus, type StepStatus } from '../vocabulary/index.js';

// Sets of the shared lists, for the lookups the run actor makes on every message.
export const TERMINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(vocabulary.TERMINAL_RUN_STATUSES);
export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(vocabulary.TERMINAL_JOB_STATUSES);
export const TERMINAL_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(vocabulary.TERMINAL_STEP_STATUSES);
/** Job statuses that make the run fail. */
export const FAILING_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(['failed', 'timed_out_stale', 'drift_dropped']);

export function isTerminalJobStatus(status: JobStatus): boolean {
  return TERMINAL_JOB_STATUSES.has(status);
}

export function isTerminalRunStatus(status: RunStatus): boolean {
  return TERMINAL_RUN_STATUSES.has(status);
}

/** The machine state a stored job status stands for. */
export function jobStatusToState(status: JobStatus): ExecState {
  if (status === 'timed_out_stale' || status === 'drift_dropped') return 'failed';
  return status;
}

/**
 * The machine state a job is in: its stored status, except that a pending job stopped by a hold is
 * `held` and one waiting out its environment's wait timer is `waiting` (both kept on the job's gate).
 */
export function jobState(job: { status: JobStatus; gate?: { waiting: string | null } | null }): ExecState {
  if (job.status !== 'pending') return jobStatusToState(job.status);
  const waiting = job.gate?.waiting;
  if (waiting === 'trust' || waiting === 'reviewers') return 'held';
  return waiting === 'wait-timer' ? 'waiting' : 'pending';
}

/**
 * The stored status of a machine state. `held` and `waiting` have no job status of their own: the
 * job is still waiting to be queued, and the hold lives in its own table.
 */
export function stateToJobStatus(state: ExecState): JobStatus {
  if (state === 'held' || state === 'waiting') return 'pending';
  return state;
}

/**
 * A run's final status from its jobs' final statuses: any failure wins, then any cancellation;
 * skipped jobs count as success.
 */
export function runOutcome(jobStatuses: Iterable<JobStatus>): 'success' | 'failed' | 'cancelled' {
  let cancelled = false;
  for (const status of jobStatuses) {
    if (FAILING_JOB_STATUSES.has(status)) return 'failed';
    if (status === 'cancelled') cancelled = true;
  }
  return cancelled ? 'cancelled' : 'success';
}

/** The run's error when it failed: the first failing job (in plan order) and how many more there are. */
export function runFailureSummary(jobs: readonly { name: string; status: JobStatus; error?: string | null }[]): string {
  const failed = jobs.filter((j) => FAILING_JOB_STATUSES.has(j.status));
  const first = failed[0];
  if (!first) return 'the run failed';
  const detail = first.error ? `: ${first.error}` : '';
  const others = failed.length - 1;
  const more = others > 0 ? ` (and ${others} more failed job${others > 1 ? 's' : ''})` : '';
  return `job "${first.name}" ${first.status}${detail}${more}`;
}
