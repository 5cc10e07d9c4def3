/**
 * In-memory implementations of the run domain's ports, for tests: a RunStore that fences by shard
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
    run: { id: runId, status: 'pending', attempt: 1, workflowName: 'ci', ownerEpoch: 1, repoUrl: 'file:///repo', sha: 'abc' },
    jobs: records,
    edges,
    steps,
  };
}

/** Where `add` puts a run unless told otherwise. */
export const DEFAULT_SHARD = 0;

/**
 * The store's per-shard fence, as the real one keeps it (src/store/fence.ts): a `shards` table
 * (shard → epoch) and each run's shard. A write for a run goes through only while its shard's row
 * holds exactly the writer's epoch; `ownerEpoch` on load is that row's epoch (absent: no row).
 */
export class MemoryRunStore implements RunStore {
  readonly runs = new Map<string, LoadedRun>();
  /** The shards table: shard → epoch. */
  readonly shards = new Map<number, number>();
  private readonly shardOfRun = new Map<string, number>();
  readonly completions: { runId: string; status: string; error: string | null }[] = [];
  loads = 0;

  /**
   * `shards`: the shard rows to start with. By default shard 0 (where `add` puts runs) at epoch 1,
   * as a node of one that claimed every shard at start has it.
   */
  constructor(options: { shards?: Iterable<readonly [number, number]> } = {}) {
    for (const [shard, epoch] of options.shards ?? [[DEFAULT_SHARD, 1]]) this.shards.set(shard, epoch);
  }

  /**
   * Stored as a database row would hold it: unset optional fields become null. The run's own
   * `ownerEpoch` is not stored: on load it is its shard's epoch.
   */
  add(run: LoadedRun, shard = DEFAULT_SHARD): void {
    const stored = normalised(structuredClone(run));
    delete stored.run.ownerEpoch;
    this.runs.set(run.run.id, stored);
    this.shardOfRun.set(run.run.id, shard);
  }

  run(runId: string): LoadedRun {
    return this.runs.get(runId)!;
  }

  job(runId: string, jobId: string): JobRecord {
    return this.run(runId).jobs.find((j) => j.id === jobId)!;
  }

  /**
   * A node gains `shard` at `epoch` and raises its row first (created when missing). Epochs only go
   * forward: false, and nothing changes, for an epoch not above the row's (ShardRepository.assign).
   */
  raiseShard(shard: number, epoch: number): boolean {
    const current = this.shards.get(shard);
    if (current !== undefined && current >= epoch) return false;
    this.shards.set(shard, epoch);
    return true;
  }

  /** The shard's row is gone: no write for its runs goes through. */
  dropShard(shard: number): void {
    this.shards.delete(shard);
  }

  shardOf(runId: string): number {
    const shard = this.shardOfRun.get(runId);
    if (shard === undefined) throw new Error(`run ${runId} was never added`);
    return shard;
  }

  /** Another node took the run's shard over at a newer epoch (raised its row). */
  takeOver(runId: string, epoch: number): void {
    if (!this.raiseShard(this.shardOf(runId), epoch)) throw new Error(`shard of ${runId} is already at or above epoch ${epoch}`);
  }

  async loadRun(runId: string): Promise<LoadedRun | undefined> {
    this.loads++;
    const run = this.runs.get(runId);
    if (!run) return undefined;
    const copy = structuredClone(run);
    const epoch = this.shards.get(this.shardOf(runId));
    if (epoch !== undefined) copy.run.ownerEpoch = epoch;
    return copy;
  }

  // Every write checks the fence and its guard first and changes nothing unless both hold, as one
  // UPDATE … WHERE <guard> AND EXISTS (SELECT 1 FROM fence WHERE epoch = $epoch) does.

  async markRunStarted(runId: string, at: number, fence: WriteFence): Promise<boolean> {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenceHolds(runId, fence) || loaded.run.status !== 'pending') return false;
    loaded.run.status = 'running';
    loaded.run.startedAt = at;
    return true;
  }

  async markRunCancelling(runId: string, fence: WriteFence): Promise<boolean> {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenceHolds(runId, fence)) return false;
    if (!['pending', 'running'].includes(loaded.run.status)) return false;
    loaded.run.status = 'cancelling';
    return true;
  }

  async updateJob(jobId: string, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
    const loaded = this.ownerOfJob(jobId);
    if (!loaded || !this.fenceHolds(loaded.run.id, guard)) return false;
    const job = loaded.jobs.find((j) => j.id === jobId)!;
    if (guard.expectStatus !== undefined && job.status !== guard.expectStatus) return false;
    Object.assign(job, defined(structuredClone(patch)));
    return true;
  }

  async updateStep(jobId: string, stepIndex: number, patch: StepPatch, fence: WriteFence): Promise<boolean> {
    const loaded = this.ownerOfJob(jobId);
    if (!loaded || !this.fenceHolds(loaded.run.id, fence)) return false;
    const step = loaded.steps.find((s) => s.jobId === jobId && s.stepIndex === stepIndex);
    if (!step) return false;
    Object.assign(step, defined(patch));
    return true;
  }

  async completeRun(runId: string, status: 'success' | 'failed' | 'cancelled', error: string | null, _at: number, fence: WriteFence) {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenceHolds(runId, fence)) return false;
    if (['success', 'failed', 'cancelled'].includes(loaded.run.status)) return false;
    loaded.run.status = status;
    loaded.run.error = error;
    this.completions.push({ runId, status, error });
    return true;
  }

  /** The run's shard row exists and is at exactly the writer's epoch. */
  private fenceHolds(runId: string, fence: WriteFence): boolean {
    const epoch = this.shards.get(this.shardOf(runId));
    return epoch !== undefined && epoch === fence.epoch;
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
