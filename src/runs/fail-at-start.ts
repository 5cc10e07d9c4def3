/**
 * Runs that fail before any job exists: a lock file that is not JSON, has an unknown schema
 * version, fails the schema, or uses a field that is not supported yet. The run is created already
 * failed, with an error naming the field, so the user sees why nothing ran.
 */
import type { Clock } from '../clock/index.js';

export interface FailedRunInput {
  orgId: string;
  workflowName: string;
  sourceId?: string | null;
  deliveryId?: string | null;
  repoUrl?: string | null;
  ref?: string | null;
  sha?: string | null;
  branch?: string | null;
  event?: unknown;
  attempt?: number;
}

export interface FailedRunRecord extends Required<Pick<FailedRunInput, 'orgId' | 'workflowName'>> {
  input: FailedRunInput;
  status: 'failed';
  attempt: number;
  error: string;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
}

/** Port: create a run row with no jobs, in its final state, in one write. */
export interface FailedRunSink {
  createFailedRun(run: FailedRunRecord): Promise<{ runId: string }>;
}

/** Longer errors are cut: they end up in API responses and terminal tables. */
export const MAX_RUN_ERROR_LENGTH = 2_000;

export function failedRunRecord(input: FailedRunInput, reason: string, clock: Clock): FailedRunRecord {
  const now = clock.now();
  const trimmed = reason.trim() || 'the run could not start';
  const error = trimmed.length > MAX_RUN_ERROR_LENGTH ? `${trimmed.slice(0, MAX_RUN_ERROR_LENGTH - 1)}…` : trimmed;
  return {
    orgId: input.orgId,
    workflowName: input.workflowName,
    input,
    status: 'failed',
    attempt: input.attempt ?? 1,
    error,
    createdAt: now,
    startedAt: now,
    finishedAt: now,
  };
}

export async function failRunAtStart(
  sink: FailedRunSink,
  input: FailedRunInput,
  reason: string,
  clock: Clock,
): Promise<{ runId: string; error: string }> {
  const record = failedRunRecord(input, reason, clock);
  const { runId } = await sink.createFailedRun(record);
  return { runId, error: record.error };
}
