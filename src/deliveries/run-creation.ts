import { shardOf } from '../actors/index.js';
import type { Clock, IdSource } from '../clock/index.js';
import { failedRunError } from '../runs/index.js';
import type { NewRun, Store } from '../store/index.js';
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

/** A run ready to be inserted: its rows, the epoch of its shard here, and how to start it (none for a failed run). */
export interface PlannedRun {
  run: NewRun;
  epoch: number;
  start?: { grouped: boolean };
}

/**
 * Insert a matched workflow's run with all its jobs in one transaction, then start its actor. A
 * run already there (the same delivery and workflow) is just started again (the actor is
 * idempotent), so each delivery leads to each run exactly once. A delivery's own runs are created
 * with its outcome instead (`planWorkflowRun`, `store.runs.createForDelivery`).
 */
export async function createWorkflowRun(deps: RunCreationDeps, origin: RunOrigin, workflow: Workflow, index: number): Promise<string> {
  return createPlanned(deps, planWorkflowRun(deps, origin, workflow, index));
}

/**
 * The run a matched workflow starts, not yet written: a failed one (`planFailedRun`) when the
 * workflow uses a field this version does not support.
 */
export function planWorkflowRun(deps: Omit<RunCreationDeps, 'start' | 'store'>, origin: RunOrigin, workflow: Workflow, index: number): PlannedRun {
  const unsupported = unsupportedFields(workflow, index);
  if (unsupported) return planFailedRun(deps, origin, workflow.name, unsupported);
  const plan = planRun(workflow);
  const { id, shard } = newRunPlace(deps);
  const ids = new Map(plan.jobs.map((j) => [j.name, deps.ids.newId()]));
  return {
    run: {
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
    epoch: deps.epochOf(shard),
    start: { grouped: workflow.concurrency !== undefined },
  };
}

/**
 * The one creator of runs that fail before any job exists (bad lock file, unsupported field): the
 * run row is written already failed, started and finished at once, with no jobs, so nothing starts
 * its actor. Its error is shaped by the runs room (`failedRunError`: trimmed, never blank, cut at
 * 2000 characters with "…").
 */
export async function createFailedRun(deps: Omit<RunCreationDeps, 'start'>, origin: RunOrigin, workflowName: string, error: string): Promise<string> {
  return createPlanned(deps, planFailedRun(deps, origin, workflowName, error));
}

/** A failed run (`createFailedRun`), not yet written. */
export function planFailedRun(deps: Omit<RunCreationDeps, 'start' | 'store'>, origin: RunOrigin, workflowName: string, error: string): PlannedRun {
  const { id, shard } = newRunPlace(deps);
  const now = new Date(deps.clock.now());
  return {
    run: { ...runFacts(id, shard, origin), workflowName, status: 'failed', error: failedRunError(error), startedAt: now, finishedAt: now, jobs: [], needs: [] },
    epoch: deps.epochOf(shard),
  };
}

async function createPlanned(deps: Omit<RunCreationDeps, 'start'> & Partial<Pick<RunCreationDeps, 'start'>>, planned: PlannedRun): Promise<string> {
  const { runId } = await deps.store.runs.create(planned.run, planned.epoch, planned.run.startedAt ?? new Date(deps.clock.now()));
  if (planned.start) deps.start!(runId, planned.start);
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
