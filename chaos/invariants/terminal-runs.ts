/**
 * Invariant 2: every run reaches a terminal state. Judged on the last view, taken once the
 * workload has had its time to settle: a run still pending, running, cancelling or held is named
 * with its unfinished jobs; a finished run with a job still live is named too (its state of record
 * says it ended while something of it did not).
 *
 * `held` counts as unfinished: a workload that uses protected environments must approve or reject
 * its holds before the check.
 *
 * When it went wrong is not in the data (a run stuck is an absence); the report dates it at the
 * stuck run's creation, the earliest moment its fate could have been decided.
 */
import type { DatabaseView, JobView } from '../database-view.js';
import { groupBy } from '../grouping.js';
import { brokenAt, invariantReport, type InvariantReport } from '../report.js';
import { TERMINAL_JOB_STATUSES, TERMINAL_RUN_STATUSES } from '../../src/vocabulary/index.js';

const FINISHED_RUN: ReadonlySet<string> = new Set(TERMINAL_RUN_STATUSES);
const FINISHED_JOB: ReadonlySet<string> = new Set(TERMINAL_JOB_STATUSES);

export function checkTerminalRuns(view: DatabaseView): InvariantReport {
  const evidence: string[] = [];
  const times: number[] = [];
  const jobsOf = groupBy(view.jobs, (j) => j.runId);
  for (const run of view.runs) {
    const live = (jobsOf.get(run.id) ?? []).filter((j) => !FINISHED_JOB.has(j.status));
    const name = `run ${run.id} (workflow "${run.workflowName}"${run.deliveryId ? `, delivery ${run.deliveryId}` : ''})`;
    const before = evidence.length;
    if (!FINISHED_RUN.has(run.status)) {
      const jobs = live.length === 0 ? 'no job unfinished' : `unfinished jobs: ${live.map(describeJob).join(', ')}`;
      evidence.push(`${name} is still ${run.status} at ${view.takenAt.toISOString()}; ${jobs}`);
    } else if (live.length > 0) {
      evidence.push(`${name} is ${run.status} but has unfinished jobs: ${live.map(describeJob).join(', ')}`);
    }
    if (evidence.length > before) times.push(run.createdAt.getTime());
  }
  const notes = [`${view.runs.length} runs and ${view.jobs.length} jobs as of ${view.takenAt.toISOString()}`];
  if (times.length > 0) notes.push('a stuck run is dated at its creation: when it went wrong is not in the data');
  return brokenAt(invariantReport(2, evidence, notes), times);
}

function describeJob(job: JobView): string {
  const where = job.agentId ? ` on ${job.agentId}` : '';
  return `job ${job.id} "${job.name}" ${job.status}${where} (dispatch attempt ${job.dispatchAttempts})`;
}
