/**
 * `kici-admin runs rerun`: a new attempt of a finished run. The new run is built from what the old
 * one stored (each job's lock-file config, matrix, needs edges, step names, the workflow's timeout
 * and concurrency), not from a second read of the lock file: the run must repeat exactly what ran,
 * even if the source has since been removed or its history rewritten.
 */
import { randomUUID } from 'node:crypto';
import { shardOf } from '../actors/index.js';
import { apiError } from '../admin/index.js';
import { planRerun, RerunRefusedError } from '../runs/index.js';
import type { JobRecord, NewJob, RunSnapshot } from '../store/index.js';
import type { RunCreationDeps } from './deliveries/run-creation.js';

export interface RerunResult {
  runId: string;
  attempt: number;
  /** Job names created again as pending. */
  rerun: string[];
  /** Job names carried over finished, with their outputs. */
  carried: string[];
}

export async function rerunRun(deps: RunCreationDeps, runId: string, options: { failedOnly?: boolean } = {}): Promise<RerunResult> {
  const old = await deps.store.runs.load(runId);
  if (!old) throw apiError(404, 'not_found', `no run ${runId}`);
  if (old.jobs.length === 0) throw apiError(409, 'nothing_to_rerun', 'the run failed before any job was created; fix the lock file and push again');
  const edges = old.needs.map((n) => ({ jobId: n.jobId, upstreamJobId: n.upstreamJobId, runOn: n.runOn }));
  let plan;
  try {
    plan = planRerun(old.jobs, edges, { failedOnly: options.failedOnly });
  } catch (e) {
    if (e instanceof RerunRefusedError) throw apiError(409, 'rerun_refused', e.message);
    throw e;
  }
  const carried = new Set(plan.carry);
  const ids = new Map(old.jobs.map((j) => [j.id, randomUUID()]));
  const id = randomUUID();
  const shard = shardOf(id);
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
    new Date(),
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
