import { shardOf } from '../actors/index.js';
import type { Clock, IdSource } from '../clock/index.js';
import { failedRunError } from '../runs/index.js';
import type { Store } from '../store/index.js';
import { planRun, unsupportedFields, type CiEvent, type Workflow } from '../workflows/index.js';

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
  /** Injected so the same creation runs in simulators: timestamps and ids come from the deps, never the host. */
  clock: Pick<Clock, 'now'>;
  ids: IdSource;
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
  const { id, shard } = newRunPlace(deps);
  const ids = new Map(plan.jobs.map((j) => [j.name, deps.ids.newId()]));
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
    new Date(deps.clock.now()),
  );
  deps.start(runId, { grouped: workflow.concurrency !== undefined });
  return runId;
}

/**
 * The one creator of runs that fail before any job exists (bad lock file, unsupported field): the
 * run row is written already failed, started and finished at once, with no jobs, so nothing starts
 * its actor. Its error is shaped by the runs room (`failedRunError`: trimmed, never blank, cut at
 * 2000 characters with "…").
 */
export async function createFailedRun(deps: Omit<RunCreationDeps, 'start'>, origin: RunOrigin, workflowName: string, error: string): Promise<string> {
  const { id, shard } = newRunPlace(deps);
  const now = new Date(deps.clock.now());
  const { runId } = await deps.store.runs.create(
    { ...runFacts(id, shard, origin), workflowName, status: 'failed', error: failedRunError(error), startedAt: now, finishedAt: now, jobs: [], needs: [] },
    deps.epochOf(shard),
    now,
  );
  return runId;
}

/** A new run's id, and the shard its actor lives on. */
export function newRunPlace(deps: { ids: IdSource }): { id: string; shard: number } {
  const id = deps.ids.newId();
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
