/**
 * The status vocabulary of runs, jobs and steps: one list each, shared by the lock file (`needs`
 * `runOn` names terminal job statuses), the store's columns, the run domain and the agent wire.
 * These are stored statuses, not the 11 states of the execution machine (see src/runs).
 */
export const RUN_STATUSES = ['pending', 'running', 'success', 'failed', 'cancelled', 'cancelling', 'held'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_RUN_STATUSES = ['success', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];

export const JOB_STATUSES = [
  'pending',
  'queued',
  'running',
  'recovering',
  'cancelling',
  'success',
  'failed',
  'cancelled',
  'skipped',
  'timed_out_stale',
  'drift_dropped',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** Job-only terminals `timed_out_stale` and `drift_dropped` count as failures of the run. */
export const TERMINAL_JOB_STATUSES = ['success', 'failed', 'cancelled', 'skipped', 'timed_out_stale', 'drift_dropped'] as const satisfies readonly JobStatus[];
export type TerminalJobStatus = (typeof TERMINAL_JOB_STATUSES)[number];

/** KiCI's step states plus `pending` (not started) and `cancelled` (interrupted by a cancel). */
export const STEP_STATUSES = ['pending', 'running', 'success', 'failed', 'skipped', 'cancelled'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
export const TERMINAL_STEP_STATUSES = ['success', 'failed', 'skipped', 'cancelled'] as const satisfies readonly StepStatus[];
