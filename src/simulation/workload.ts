/**
 * The runs a seed's webhooks ask for, as the rows run creation inserts: the run pending, its jobs
 * pending (those without needs already satisfied), one step each, needs edges on success. Each
 * webhook reaches a node that is up; a creation the store refuses (the node's epoch of the shard
 * is not the row's yet) is tried again a little later, on whichever node is up then, as the
 * shard's owner resumes a delivery left `received`. A run whose workflow has a `concurrency` group
 * carries it as run creation copies it from the lock file (cancel-in-progress off).
 */
import type { LoadedRun } from '../runs/index.js';
import type { PlannedRun } from './scenario.js';

export function runRows(planned: PlannedRun): LoadedRun {
  const runId = planned.id;
  const jobId = (i: number) => `${runId}.job${i + 1}`;
  return {
    run: {
      id: runId,
      status: 'pending',
      attempt: 1,
      workflowName: 'ci',
      repoUrl: 'file:///sim/repo',
      sha: 'abc1234',
      timeoutMs: null,
      concurrency: planned.concurrency ? { group: planned.concurrency.group, cancelInProgress: false, max: planned.concurrency.max } : null,
    },
    jobs: planned.jobs.map((j, i) => ({
      id: jobId(i),
      runId,
      name: `job${i + 1}`,
      baseName: `job${i + 1}`,
      matrix: null,
      config: { name: `job${i + 1}`, runsOn: ['os:linux'], steps: [{ run: 'true' }] },
      status: 'pending',
      needsSatisfied: j.needs.length === 0,
      dispatchAttempts: 0,
    })),
    edges: planned.jobs.flatMap((j, i) => j.needs.map((u) => ({ jobId: jobId(i), upstreamJobId: jobId(u), runOn: ['success' as const] }))),
    steps: planned.jobs.map((_, i) => ({ jobId: jobId(i), stepIndex: 0, name: 'step-1', status: 'pending' as const })),
  };
}
