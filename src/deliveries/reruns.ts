/**
 * `kici-admin runs rerun`: a new attempt of a finished run. The new run is built from what the old
 * one stored (each job's lock-file config, matrix, needs edges, step names, the workflow's timeout
 * and concurrency), not from a second read of the lock file: the run must repeat exactly what ran,
 * even if the source has since been removed or its history rewritten.
 */
import { planRerun } from '../runs/index.js';
import type { JobRecord, NewJob, RunSnapshot } from '../store/index.js';
import { NothingToRerun, RunNotFound } from './errors.js';
import { newRunPlace, type RunCreationDeps } from './run-creation.js';

export interface RerunResult {
  runId: string;
  attempt: number;
  /** Job names created again as pending. */
  rerun: string[];
  /** Job names carried over finished, with their outputs. */
  carried: string[];
}

/**
 * Refusals are domain errors: `RunNotFound`, `NothingToRerun`, and the runs room's
 * `RerunRefusedError` (the run is unfinished, or nothing failed for `failedOnly`).
 */
export async function rerunRun(deps: RunCreationDeps, runId: string, options: { failedOnly?: boolean } = {}): Promise<RerunResult> {
  const old = await deps.store.runs.load(runId);
  if (!old) throw new RunNotFound(runId);
  if (old.jobs.length === 0) throw new NothingToRerun(runId);
  const edges = old.needs.map((n) => ({ jobId: n.jobId, upstreamJobId: n.upstreamJobId, runOn: n.runOn }));
  const plan = planRerun(old.jobs, edges, { failedOnly: options.failedOnly });
  const carried = new Set(plan.carry);
  const ids = new Map(old.jobs.map((j) => [j.id, deps.ids.newId()]));
  const { id, shard } = newRunPlace(deps);
  const r = old.run;
  const attempt = r.attempt + 1;
  await deps.store.runs.create(
    {
      id,
      orgId: r.orgId,
      sourceId: r.sourceId,
      deliveryId: r.deliveryId,
      workflowName: r.workflowName,
      attempt,
      parentRunId: r.id,
      shard,
      event: r.event,
      repoUrl: r.repoUrl,
      ref: r.ref,
      sha: r.sha,
      branch: r.branch,
      timeoutMs: r.timeoutMs,
      concurrency: r.concurrency,
      jobs: old.jobs.map((j) => newJob(old, j, ids.get(j.id)!, carried.has(j.id))),
      needs: old.needs.map((n) => ({ jobId: ids.get(n.jobId)!, upstreamJobId: ids.get(n.upstreamJobId)!, runOn: n.runOn })),
    },
    deps.epochOf(shard),
    new Date(deps.clock.now()),
  );
  deps.start(id);
  const names = (list: string[]) => list.map((jobId) => old.jobs.find((j) => j.id === jobId)!.name);
  return { runId: id, attempt, rerun: names(plan.rerun), carried: names(plan.carry) };
}

/**
 * A carried job keeps its status, outputs and step results, so downstream jobs of the new run see
 * the same upstream outputs; a rerun job starts pending (roots released at once, as in a new run).
 */
function newJob(old: RunSnapshot, job: JobRecord, id: string, carry: boolean): NewJob {
  const steps = old.steps.filter((s) => s.jobId === job.id).sort((a, b) => a.stepIndex - b.stepIndex);
  const base = { id, name: job.name, baseName: job.baseName, matrix: job.matrix, config: job.config };
  if (carry) {
    return {
      ...base,
      status: job.status,
      needsSatisfied: true,
      outputs: job.outputs ?? {},
      finishedAt: job.finishedAt,
      steps: steps.map((s) => ({ name: s.name, status: s.status, exitCode: s.exitCode })),
    };
  }
  return { ...base, needsSatisfied: !old.needs.some((n) => n.jobId === job.id), steps: steps.map((s) => ({ name: s.name })) };
}
