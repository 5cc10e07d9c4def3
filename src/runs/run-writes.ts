/**
 * Every write a RunActor makes, stamped with its shard epoch. When the store refuses one, this
 * decides why: another owner took the shard (the actor must stop acting) or another writer changed
 * the row first (the actor must reload and carry on from what the store says).
 */
import type { HoldWrite } from './job-holds.js';
import type { JobPatch, JobRecord, LoadedRun, RunStore, StepPatch } from './ports.js';
import type { JobStatus, RunStatus } from './statuses.js';

/** The store refused a write because the run's shard is not at this actor's epoch: it is not the owner. */
export class FencedOut extends Error {
  constructor() {
    super('another node owns this run now');
    this.name = 'FencedOut';
  }
}

/** The store refused a guarded write because someone else changed the row first. */
export class StateConflict extends Error {
  constructor() {
    super('the stored state changed');
    this.name = 'StateConflict';
  }
}

export class RunWrites {
  constructor(
    private readonly store: RunStore,
    private readonly runId: string,
    private readonly epoch: number,
  ) {}

  private get fence() {
    return { epoch: this.epoch };
  }

  /**
   * Write a job patch guarded by the status the store holds for the job (by default the one the
   * actor believes it has), then apply it in memory.
   */
  async job(job: JobRecord, patch: JobPatch, expectStatus: JobStatus = job.status, hold?: HoldWrite): Promise<void> {
    const guard = { ...this.fence, expectStatus };
    if (hold === undefined) {
      if (!(await this.store.updateJob(job.id, patch, guard))) await this.refusedJob(job.id, expectStatus);
    } else {
      const stored = 'hold' in hold ? await this.store.holdJob!(job.id, hold.hold, patch, guard) : await this.store.changeHold!(job.id, hold.change, patch, guard);
      if (!stored) await this.refusedHoldWrite();
    }
    Object.assign(job, patch);
  }

  async runStarted(currentStatus: RunStatus, at: number): Promise<void> {
    if (!(await this.store.markRunStarted(this.runId, at, this.fence))) await this.refusedRun(currentStatus);
  }

  async runCancelling(currentStatus: RunStatus): Promise<void> {
    if (!(await this.store.markRunCancelling(this.runId, this.fence))) await this.refusedRun(currentStatus);
  }

  async runCompleted(currentStatus: RunStatus, status: 'success' | 'failed' | 'cancelled', error: string | null, at: number) {
    if (!(await this.store.completeRun(this.runId, status, error, at, this.fence))) await this.refusedRun(currentStatus);
  }

  /** `runs.environment`; a store without the write keeps none. Only the fence can refuse it. */
  async runEnvironment(environment: string): Promise<void> {
    const written = await this.store.markRunEnvironment?.(this.runId, environment, this.fence);
    if (written === false) throw new FencedOut();
  }

  /** false when the step is not stored (a step index the plan does not have); throws when fenced. */
  async step(jobId: string, stepIndex: number, patch: StepPatch): Promise<boolean> {
    if (await this.store.updateStep(jobId, stepIndex, patch, this.fence)) return true;
    const fresh = await this.store.loadRun(this.runId);
    if (!fresh || this.notOwner(fresh)) throw new FencedOut();
    return false;
  }

  /** The guard still holds in the store, yet the write failed: only the epoch can have refused it. */
  private async refusedJob(jobId: string, expectStatus: JobStatus): Promise<never> {
    const fresh = await this.store.loadRun(this.runId);
    const job = fresh?.jobs.find((j) => j.id === jobId);
    if (!fresh || this.notOwner(fresh) || job?.status === expectStatus) throw new FencedOut();
    throw new StateConflict();
  }

  /**
   * A hold's write has guards of its own (the hold still pending, one vote per reviewer): when the
   * shard is still ours, one of them moved, and the actor reloads and goes on from the store.
   */
  private async refusedHoldWrite(): Promise<never> {
    const fresh = await this.store.loadRun(this.runId);
    if (!fresh || this.notOwner(fresh)) throw new FencedOut();
    throw new StateConflict();
  }

  private async refusedRun(expectStatus: RunStatus): Promise<never> {
    const fresh = await this.store.loadRun(this.runId);
    if (!fresh || this.notOwner(fresh) || fresh.run.status === expectStatus) throw new FencedOut();
    throw new StateConflict();
  }

  /**
   * The store fences by the run's shard: a write goes through only at the epoch the shard is at.
   * Any other epoch there (newer: the shard moved on; older: this node acts before the shard was
   * raised to its epoch; none: no fence row) means this actor's writes are refused.
   */
  notOwner(fresh: LoadedRun): boolean {
    return fresh.run.ownerEpoch !== this.epoch;
  }
}
