/**
 * Which jobs a rerun runs again. A full rerun runs everything. `--failed-only` runs every job that
 * did not succeed, plus everything downstream of those (their inputs may change); jobs that
 * succeeded and depend on nothing being rerun are carried over with their outputs, so the new
 * attempt starts from where the old one went wrong.
 */
import type { NeedsEdge } from './needs-scheduler.js';
import { isTerminalJobStatus, type JobStatus } from './statuses.js';

export interface RerunJob {
  id: string;
  status: JobStatus;
}

export interface RerunPlan {
  /** Jobs of the old run to create again as `pending`. */
  rerun: string[];
  /** Jobs of the old run to copy into the new one as finished (`success`, outputs kept, needs satisfied). */
  carry: string[];
}

export class RerunRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RerunRefusedError';
  }
}

export function planRerun(jobs: readonly RerunJob[], edges: readonly NeedsEdge[], options: { failedOnly?: boolean } = {}): RerunPlan {
  const open = jobs.filter((j) => !isTerminalJobStatus(j.status));
  if (open.length > 0) throw new RerunRefusedError('the run is still in progress; cancel it or wait for it to finish');
  if (!options.failedOnly) return { rerun: jobs.map((j) => j.id), carry: [] };
  const rerun = new Set(jobs.filter((j) => j.status !== 'success').map((j) => j.id));
  if (rerun.size === 0) throw new RerunRefusedError('no job failed, so there is nothing to rerun with --failed-only');
  const downstream = new Map<string, string[]>();
  for (const e of edges) downstream.set(e.upstreamJobId, [...(downstream.get(e.upstreamJobId) ?? []), e.jobId]);
  const queue = [...rerun];
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    for (const down of downstream.get(id) ?? []) {
      if (!rerun.has(down)) {
        rerun.add(down);
        queue.push(down);
      }
    }
  }
  return {
    rerun: jobs.filter((j) => rerun.has(j.id)).map((j) => j.id),
    carry: jobs.filter((j) => !rerun.has(j.id)).map((j) => j.id),
  };
}
