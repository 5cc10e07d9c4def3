import { randomUUID } from 'node:crypto';
import { shardOf } from '../../actors/index.js';
import type { Store } from '../../store/index.js';
import { planRun, unsupportedFields, type CiEvent, type Workflow } from '../../workflows/index.js';

/** Where a run's code comes from and what started it. */
export interface RunOrigin {
  orgId: string;
  sourceId: string;
  /** null for a run an operator started (`kici-admin runs trigger`). */
  deliveryId: string | null;
  repoUrl: string;
  sha: string;
  ref?: string;
  branch?: string;
  event: CiEvent;
}

export interface RunCreationDeps {
  store: Pick<Store, 'runs'>;
  /** The current epoch of a shard this node owns. */
  epochOf(shard: number): number;
  /**
   * Tell the run's actor to start (or resume) it. `grouped: false` says the workflow has no
   * `concurrency`, so the start needs no admission decision (and no read of the run).
   */
  start(runId: string, hint?: { grouped: boolean }): void;
}

/**
 * Insert a matched workflow's run with all its jobs in one transaction, then start its actor. A
 * delivery resumed after a crash finds its run already there and just starts it again (the actor
 * is idempotent), so each delivery leads to each run exactly once.
 */
export async function createWorkflowRun(deps: RunCreationDeps, origin: RunOrigin, workflow: Workflow, index: number): Promise<string> {
  const unsupported = unsupportedFields(workflow, index);
  if (unsupported) return createFailedRun(deps, origin, workflow.name, unsupported);
  const plan = planRun(workflow);
  const { id, shard } = newRunPlace();
  const ids = new Map(plan.jobs.map((j) => [j.name, randomUUID()]));
  const { runId } = await deps.store.runs.create(
    {
      ...runFacts(id, shard, origin),
      workflowName: workflow.name,
      timeoutMs: workflow.timeout ?? null,
      concurrency: workflow.concurrency ?? null,
      jobs: plan.jobs.map((j) => ({
        id: ids.get(j.name)!,
        name: j.name,
        baseName: j.baseName,
        matrix: j.matrix,
        config: j.config,
        needsSatisfied: !plan.edges.some((e) => e.job === j.name),
        steps: j.stepNames.map((name) => ({ name })),
      })),
      needs: plan.edges.map((e) => ({ jobId: ids.get(e.job)!, upstreamJobId: ids.get(e.upstream)!, runOn: e.runOn })),
    },
    deps.epochOf(shard),
    new Date(),
  );
  deps.start(runId, { grouped: workflow.concurrency !== undefined });
  return runId;
}

/** A run that fails before any job exists (bad lock file, unsupported field): created already failed. */
export async function createFailedRun(deps: RunCreationDeps, origin: RunOrigin, workflowName: string, error: string): Promise<string> {
  const { id, shard } = newRunPlace();
  const now = new Date();
  const { runId } = await deps.store.runs.create(
    { ...runFacts(id, shard, origin), workflowName, status: 'failed', error: error.slice(0, 2000), startedAt: now, finishedAt: now, jobs: [], needs: [] },
    deps.epochOf(shard),
    now,
  );
  return runId;
}

/** A new run's id, and the shard its actor lives on. */
function newRunPlace(): { id: string; shard: number } {
  const id = randomUUID();
  return { id, shard: shardOf(id) };
}

/** The columns every run takes from what started it. */
function runFacts(id: string, shard: number, origin: RunOrigin) {
  return {
    id,
    shard,
    orgId: origin.orgId,
    sourceId: origin.sourceId,
    deliveryId: origin.deliveryId,
    event: withoutPayload(origin.event),
    repoUrl: origin.repoUrl,
    ref: origin.ref ?? null,
    sha: origin.sha,
    branch: origin.branch ?? null,
  };
}

/** The raw payload stays in the delivery row; runs keep the normalised facts only. */
function withoutPayload(event: CiEvent): CiEvent {
  const { payload: _payload, ...rest } = event;
  return rest;
}
