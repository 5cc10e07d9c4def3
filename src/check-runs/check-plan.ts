/**
 * What a run's checks are called and where each one stands: names, external ids, conclusions, the
 * phase a job or run is in, and what to do when a check should move to a new phase. Pure: no
 * clock, no I/O.
 */
import type { CheckRunConclusion } from '../github/index.js';
import type { JobRecord, JobStatus, RunRecord, RunStatus, StepRecord, StepStatus } from '../runs/index.js';

export const DEFAULT_DEBOUNCE_MS = 5_000;
/** A finished run's state is kept this long for late events, then dropped (KiCI's tracker prune). */
export const FORGET_FINISHED_RUN_MS = 5 * 60_000;
/**
 * A run nobody has spoken of for this long is forgotten too: it moved to another node, which will
 * finish it. If it comes back, its checks are found again on GitHub (the failover path).
 */
export const FORGET_IDLE_RUN_MS = 60 * 60_000;
/** Log lines asked for per failing step; the summary keeps 20, 10, 5 or 0 of them to fit. */
export const LOG_TAIL_LINES = 20;
/** At most this many steps of one job get log lines in its summary (usually one failed). */
export const LOG_TAIL_STEPS = 3;

export function workflowCheckName(run: Pick<RunRecord, 'workflowName'>): string {
  return `kici/${run.workflowName}`;
}

/** One check per job record: a matrix child has its own concrete name, e.g. `test (20, 1)`. */
export function jobCheckName(run: Pick<RunRecord, 'workflowName'>, job: Pick<JobRecord, 'name'>): string {
  return `kici/${run.workflowName}/job/${job.name}`;
}

/**
 * A rerun is a new run with new job ids, so ids alone tell two attempts' checks apart even though
 * their names repeat on the commit; a failed-over node matches on these to reuse a check.
 */
export function workflowExternalId(run: Pick<RunRecord, 'id'>): string {
  return run.id;
}

export function jobExternalId(run: Pick<RunRecord, 'id'>, job: Pick<JobRecord, 'id'>): string {
  return `${run.id}/${job.id}`;
}

// Written out in full so that a new status fails to compile here instead of reporting nothing.
const JOB_CONCLUSIONS: Record<JobStatus, CheckRunConclusion | undefined> = {
  pending: undefined,
  queued: undefined,
  running: undefined,
  recovering: undefined,
  cancelling: undefined,
  success: 'success',
  failed: 'failure',
  cancelled: 'cancelled',
  skipped: 'skipped',
  // No heartbeat for two minutes: the job was given up on, which GitHub calls timed out.
  timed_out_stale: 'timed_out',
  // The job's agent lost track of it (its config drifted away): a failure of the run.
  drift_dropped: 'failure',
};

const RUN_CONCLUSIONS: Record<RunStatus, CheckRunConclusion | undefined> = {
  pending: undefined,
  held: undefined,
  running: undefined,
  cancelling: undefined,
  success: 'success',
  failed: 'failure',
  cancelled: 'cancelled',
};

/** The conclusion of a finished job; undefined while it has not finished. */
export function jobConclusion(status: JobStatus): CheckRunConclusion | undefined {
  return JOB_CONCLUSIONS[status];
}

export function runConclusion(status: RunStatus): CheckRunConclusion | undefined {
  return RUN_CONCLUSIONS[status];
}

/** Where a check stands on GitHub (`none`: not created by this reporter yet). */
export type CheckPhase = 'none' | 'queued' | 'in_progress' | 'completed';

/** A job shows in progress from the moment it or any of its steps runs. */
export function jobPhase(job: Pick<JobRecord, 'status'>, steps: readonly Pick<StepRecord, 'status'>[]): Exclude<CheckPhase, 'none'> {
  if (jobConclusion(job.status)) return 'completed';
  if (job.status === 'pending' || job.status === 'queued') {
    return steps.some((s) => s.status !== 'pending') ? 'in_progress' : 'queued';
  }
  return 'in_progress';
}

/**
 * The workflow's check completes only when the run does (its conclusion is the run's); before
 * that it is in progress once any job is.
 */
export function runPhase(run: Pick<RunRecord, 'status'>, jobs: readonly Pick<JobRecord, 'status'>[]): Exclude<CheckPhase, 'none'> {
  if (runConclusion(run.status)) return 'completed';
  return jobs.some((j) => j.status !== 'pending' && j.status !== 'queued') ? 'in_progress' : 'queued';
}

/**
 * How a check moves from the phase it was last sent in to the one its job or run is in now:
 * - `now`: create it, or move it to in progress, at once (people watch for a job to start);
 * - `debounce`: more progress of something already in progress: batched per check;
 * - `final`: complete it, dropping any progress not sent yet; it never changes after;
 * - `none`: nothing to say.
 */
export type CheckMove = 'none' | 'now' | 'debounce' | 'final';

export function nextMove(sent: CheckPhase, wanted: Exclude<CheckPhase, 'none'>): CheckMove {
  if (sent === 'completed') return 'none';
  if (wanted === 'completed') return 'final';
  if (sent === 'none') return 'now';
  if (sent === 'queued') return wanted === 'in_progress' ? 'now' : 'none';
  // In progress and still going (or queued again after a lost agent): the summary changes.
  return 'debounce';
}

/**
 * A job's steps as they will end with it. The runs room reports a job's end before it ends the
 * steps its agent never reported on (a running one as the job ended, a pending one skipped), so
 * a completion summary built at once shows them as they are about to be.
 */
export function stepsAsEnded<S extends Pick<StepRecord, 'status'>>(job: Pick<JobRecord, 'status'>, steps: readonly S[]): S[] {
  if (!jobConclusion(job.status)) return [...steps];
  return steps.map((step) => {
    if (step.status === 'pending') return { ...step, status: 'skipped' satisfies StepStatus };
    if (step.status !== 'running') return step;
    const ended: StepStatus = job.status === 'cancelled' ? 'cancelled' : job.status === 'success' ? 'success' : 'failed';
    return { ...step, status: ended };
  });
}

/**
 * The steps whose last log lines a finished job's summary shows: the failed ones; a job that
 * failed with no failed step (lost, timed out) shows the last step that ran.
 */
export function stepsNeedingLogs<S extends Pick<StepRecord, 'status' | 'stepIndex'>>(job: Pick<JobRecord, 'status'>, steps: readonly S[]): S[] {
  const conclusion = jobConclusion(job.status);
  if (!conclusion || conclusion === 'success' || conclusion === 'skipped') return [];
  const ended = stepsAsEnded(job, steps);
  const failed = ended.filter((s) => s.status === 'failed');
  if (failed.length > 0) return failed.slice(0, LOG_TAIL_STEPS);
  if (conclusion === 'cancelled') return [];
  const ran = ended.filter((s) => s.status !== 'pending' && s.status !== 'skipped');
  return ran.slice(-1);
}
