/**
 * In-memory implementations of the run domain's ports, for tests: a RunStore that fences by epoch
 * and honours status guards like the real one must, and a Dispatcher that records what it is asked.
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

  add(run: LoadedRun): void {
    this.runs.set(run.run.id, structuredClone(run));
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

  async markRunStarted(runId: string, at: number, fence: WriteFence): Promise<boolean> {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenced(loaded, fence) || loaded.run.status !== 'pending') return false;
    loaded.run.status = 'running';
    loaded.run.startedAt = at;
    return true;
  }

  async markRunCancelling(runId: string, fence: WriteFence): Promise<boolean> {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenced(loaded, fence)) return false;
    if (!['pending', 'running'].includes(loaded.run.status)) return false;
    loaded.run.status = 'cancelling';
    return true;
  }

  async updateJob(jobId: string, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
    const loaded = this.ownerOfJob(jobId);
    if (!loaded || !this.fenced(loaded, guard)) return false;
    const job = loaded.jobs.find((j) => j.id === jobId)!;
    if (guard.expectStatus !== undefined && job.status !== guard.expectStatus) return false;
    Object.assign(job, structuredClone(patch));
    return true;
  }

  async updateStep(jobId: string, stepIndex: number, patch: StepPatch, fence: WriteFence): Promise<boolean> {
    const loaded = this.ownerOfJob(jobId);
    if (!loaded || !this.fenced(loaded, fence)) return false;
    const step = loaded.steps.find((s) => s.jobId === jobId && s.stepIndex === stepIndex);
    if (!step) return false;
    Object.assign(step, patch);
    return true;
  }

  async completeRun(runId: string, status: 'success' | 'failed' | 'cancelled', error: string | null, _at: number, fence: WriteFence) {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenced(loaded, fence)) return false;
    if (['success', 'failed', 'cancelled'].includes(loaded.run.status)) return false;
    loaded.run.status = status;
    loaded.run.error = error;
    this.completions.push({ runId, status, error });
    return true;
  }

  /** `WHERE owner_epoch <= $epoch`, then the write takes the epoch over. */
  private fenced(loaded: LoadedRun, fence: WriteFence): boolean {
    if ((loaded.run.ownerEpoch ?? 0) > fence.epoch) return false;
    loaded.run.ownerEpoch = fence.epoch;
    return true;
  }

  private ownerOfJob(jobId: string): LoadedRun | undefined {
    for (const loaded of this.runs.values()) if (loaded.jobs.some((j) => j.id === jobId)) return loaded;
    return undefined;
  }
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
