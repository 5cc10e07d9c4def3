/**
 * In-memory implementations of the run domain's ports, for tests: a RunStore that fences by epoch
 * and honours status guards like the real one must, and a Dispatcher that records what it is asked.
 * The RunStore is held to the real store's behaviour by the contract suite in test/contract/.
 */
import type {
  Dispatcher,
  DispatchResult,
  JobCancelRequest,
  JobDispatchRequest,
  JobPatch,
  JobRecord,
  JobStatus,
  JobWriteGuard,
  LoadedRun,
  NeedsEdge,
  RunStore,
  StepPatch,
  StepRecord,
  WriteFence,
} from '../../../src/runs/index.js';

export interface PlanJob {
  id: string;
  baseName?: string;
  matrix?: Record<string, string>;
  needs?: (string | [string, JobStatus[]])[];
  steps?: number;
  runsOn?: unknown[];
}

export function planRun(runId: string, jobs: PlanJob[]): LoadedRun {
  const records: JobRecord[] = jobs.map((j) => ({
    id: j.id,
    runId,
    name: j.id,
    baseName: j.baseName ?? j.id,
    matrix: j.matrix ?? null,
    config: { name: j.baseName ?? j.id, runsOn: j.runsOn ?? ['os:linux'], steps: [{ run: 'true' }] },
    status: 'pending',
    needsSatisfied: false,
    dispatchAttempts: 0,
  }));
  const edges: NeedsEdge[] = jobs.flatMap((j) =>
    (j.needs ?? []).map((n) =>
      typeof n === 'string' ? { jobId: j.id, upstreamJobId: n, runOn: ['success'] } : { jobId: j.id, upstreamJobId: n[0], runOn: n[1] },
    ),
  );
  const steps: StepRecord[] = jobs.flatMap((j) =>
    Array.from({ length: j.steps ?? 1 }, (_, i) => ({ jobId: j.id, stepIndex: i, name: `step-${i + 1}`, status: 'pending' as const })),
  );
  return {
    run: { id: runId, status: 'pending', attempt: 1, workflowName: 'ci', ownerEpoch: 0, repoUrl: 'file:///repo', sha: 'abc' },
    jobs: records,
    edges,
    steps,
  };
}

export class MemoryRunStore implements RunStore {
  readonly runs = new Map<string, LoadedRun>();
  readonly completions: { runId: string; status: string; error: string | null }[] = [];
  loads = 0;

  /** Stored as a database row would hold it: unset optional fields become null. */
  add(run: LoadedRun): void {
    this.runs.set(run.run.id, normalised(structuredClone(run)));
  }

  run(runId: string): LoadedRun {
    return this.runs.get(runId)!;
  }

  job(runId: string, jobId: string): JobRecord {
    return this.run(runId).jobs.find((j) => j.id === jobId)!;
  }

  /** Another node took the shard over at a newer epoch. */
  takeOver(runId: string, epoch: number): void {
    this.run(runId).run.ownerEpoch = epoch;
  }

  async loadRun(runId: string): Promise<LoadedRun | undefined> {
    this.loads++;
    const run = this.runs.get(runId);
    return run ? structuredClone(run) : undefined;
  }

  // Every write checks its fence and its guard first and only then takes the epoch over: a refused
  // write changes nothing, as one UPDATE … WHERE owner_epoch <= $epoch AND <guard> does.

  async markRunStarted(runId: string, at: number, fence: WriteFence): Promise<boolean> {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenced(loaded, fence) || loaded.run.status !== 'pending') return false;
    this.takeEpoch(loaded, fence);
    loaded.run.status = 'running';
    loaded.run.startedAt = at;
    return true;
  }

  async markRunCancelling(runId: string, fence: WriteFence): Promise<boolean> {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenced(loaded, fence)) return false;
    if (!['pending', 'running'].includes(loaded.run.status)) return false;
    this.takeEpoch(loaded, fence);
    loaded.run.status = 'cancelling';
    return true;
  }

  async updateJob(jobId: string, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
    const loaded = this.ownerOfJob(jobId);
    if (!loaded || !this.fenced(loaded, guard)) return false;
    const job = loaded.jobs.find((j) => j.id === jobId)!;
    if (guard.expectStatus !== undefined && job.status !== guard.expectStatus) return false;
    this.takeEpoch(loaded, guard);
    Object.assign(job, defined(structuredClone(patch)));
    return true;
  }

  async updateStep(jobId: string, stepIndex: number, patch: StepPatch, fence: WriteFence): Promise<boolean> {
    const loaded = this.ownerOfJob(jobId);
    if (!loaded || !this.fenced(loaded, fence)) return false;
    const step = loaded.steps.find((s) => s.jobId === jobId && s.stepIndex === stepIndex);
    if (!step) return false;
    this.takeEpoch(loaded, fence);
    Object.assign(step, defined(patch));
    return true;
  }

  async completeRun(runId: string, status: 'success' | 'failed' | 'cancelled', error: string | null, _at: number, fence: WriteFence) {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenced(loaded, fence)) return false;
    if (['success', 'failed', 'cancelled'].includes(loaded.run.status)) return false;
    this.takeEpoch(loaded, fence);
    loaded.run.status = status;
    loaded.run.error = error;
    this.completions.push({ runId, status, error });
    return true;
  }

  /** `WHERE owner_epoch <= $epoch`. One epoch for the whole run, as the port documents it. */
  private fenced(loaded: LoadedRun, fence: WriteFence): boolean {
    return (loaded.run.ownerEpoch ?? 0) <= fence.epoch;
  }

  /** `SET owner_epoch = $epoch`, for a write that goes through. */
  private takeEpoch(loaded: LoadedRun, fence: WriteFence): void {
    loaded.run.ownerEpoch = fence.epoch;
  }

  private ownerOfJob(jobId: string): LoadedRun | undefined {
    for (const loaded of this.runs.values()) if (loaded.jobs.some((j) => j.id === jobId)) return loaded;
    return undefined;
  }
}

/** A patch's undefined keys are "not part of this write" (the real store skips them), not "clear". */
function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

/** Every optional field the real store loads as null when unset (NULL columns). */
function normalised(loaded: LoadedRun): LoadedRun {
  const r = loaded.run;
  Object.assign(r, {
    error: orNull(r.error),
    startedAt: orNull(r.startedAt),
    timeoutMs: orNull(r.timeoutMs),
    sourceId: orNull(r.sourceId),
    repoUrl: orNull(r.repoUrl),
    ref: orNull(r.ref),
    sha: orNull(r.sha),
    branch: orNull(r.branch),
  });
  for (const j of loaded.jobs) {
    Object.assign(j, {
      matrix: orNull(j.matrix),
      agentId: orNull(j.agentId),
      previousAgentId: orNull(j.previousAgentId),
      dispatchedAt: orNull(j.dispatchedAt),
      ackDeadline: orNull(j.ackDeadline),
      ackedAt: orNull(j.ackedAt),
      recoveryDeadline: orNull(j.recoveryDeadline),
      lastHeartbeatAt: orNull(j.lastHeartbeatAt),
      startedAt: orNull(j.startedAt),
      finishedAt: orNull(j.finishedAt),
      outputs: orNull(j.outputs),
      error: orNull(j.error),
    });
  }
  for (const s of loaded.steps) Object.assign(s, { exitCode: orNull(s.exitCode), error: orNull(s.error), startedAt: orNull(s.startedAt), finishedAt: orNull(s.finishedAt) });
  return loaded;
}

export class RecordingDispatcher implements Dispatcher {
  readonly dispatches: JobDispatchRequest[] = [];
  readonly cancels: JobCancelRequest[] = [];
  readonly ackTimeouts: { agentId: string; jobId: string }[] = [];
  /** Decide where a dispatch goes; by default every job is assigned to agent-1. */
  choose: (request: JobDispatchRequest) => DispatchResult = () => ({ status: 'assigned', agentId: 'agent-1' });

  async dispatch(request: JobDispatchRequest): Promise<DispatchResult> {
    this.dispatches.push(structuredClone(request));
    return this.choose(request);
  }

  cancel(request: JobCancelRequest): void {
    this.cancels.push(request);
  }

  ackTimedOut(agentId: string, jobId: string): void {
    this.ackTimeouts.push({ agentId, jobId });
  }

  readonly withdrawals: string[] = [];
  withdraw(_runId: string, jobId: string): void {
    this.withdrawals.push(jobId);
  }

  of(jobId: string): JobDispatchRequest[] {
    return this.dispatches.filter((d) => d.jobId === jobId);
  }
}
