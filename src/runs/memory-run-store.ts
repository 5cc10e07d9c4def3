/**
 * The run domain's RunStore in memory: the RunActor unit tests and the cluster simulator
 * (src/simulation) run on it. It fences by shard and honours status guards as the PostgreSQL store
 * does (src/store/fence.ts), and the contract suite in test/contract/ holds it to that store's
 * behaviour, so what the actor sees here is what it would see there.
 *
 * Beyond the port it keeps what the simulator needs of the store: the `shards` rows with their
 * owner (raised as ShardRepository.raise does), run creation at an epoch (as RunRepository.create
 * holds the shard row), the unfinished runs of some shards, the jobs the record gives an agent, and
 * a report of every write it accepted with who made it (`as(node)`), so an invariant checker can
 * hold each write against the replicated shard map. It answers the coordinator's sweeps too
 * (OverdueJobs), as the jobs repository's queries do. Holds (`held_runs` and their votes) are kept
 * as the holds repository keeps them: one per job and gate, written with the job's fenced write,
 * all of it or nothing.
 */
import { randomUUID } from 'node:crypto';
import type { HoldChange, JobPatch, JobRecord, JobWriteGuard, LoadedRun, RunRecord, RunStore, StepPatch, WriteFence } from './ports.js';
import type { Hold, NewHold, StoredEnvGroup } from '../environments/index.js';
import { storedEnvGroup, type StoredSlot } from './env-group-load.js';
import type { OverdueJobs } from './sweeps.js';
import { isTerminalJobStatus, isTerminalRunStatus } from './statuses.js';

/** Where `add` puts a run unless told otherwise. */
export const DEFAULT_SHARD = 0;

/**
 * What an accepted write did; `node` is the writer when it wrote through `as(node)`. `job_held` and
 * `hold_changed` are job writes that carried a hold's write with them (`status`: the job's after).
 */
export type StoreWriteKind = 'run_created' | 'run_started' | 'run_cancelling' | 'run_completed' | 'job' | 'job_held' | 'hold_changed' | 'step' | 'shard_raised';

export interface AcceptedWrite {
  kind: StoreWriteKind;
  shard: number;
  /** The epoch the write carried (for a raise: the epoch the row was raised to). */
  epoch: number;
  node?: string;
  runId?: string;
  jobId?: string;
  /** The job's status after the write (job writes only). */
  status?: string;
}

export interface MemoryRunStoreOptions {
  /**
   * The shard rows to start with, as (shard, epoch). By default shard 0 (where `add` puts runs) at
   * epoch 1, as a node of one that claimed every shard at start has it.
   */
  shards?: Iterable<readonly [number, number]>;
  /** Told of every write the store accepted, in order. */
  onWrite?(write: AcceptedWrite): void;
  /**
   * `per-shard` (the default) is the real store's rule. `broken` takes a write at any epoch while
   * the shard has a row: only for showing that an invariant checker catches what the fence prevents.
   */
  fence?: 'per-shard' | 'broken';
}

/** A job a write may go through for, with its run. */
interface GuardedJob {
  runId: string;
  job: JobRecord;
}

/** A job the record gives an agent (queued on it, running, recovering or cancelling there). */
export interface HeldJob {
  runId: string;
  jobId: string;
}

/**
 * The store's per-shard fence, as the real one keeps it (src/store/fence.ts): a `shards` table
 * (shard → epoch, and its owner) and each run's shard. A write for a run goes through only while
 * its shard's row holds exactly the writer's epoch; `ownerEpoch` on load is that row's epoch
 * (absent: no row).
 */
export class MemoryRunStore implements RunStore, OverdueJobs {
  readonly runs = new Map<string, LoadedRun>();
  /** The shards table: shard → epoch. */
  readonly shards = new Map<number, number>();
  /** The shards table's owner column: shard → node (rows raised without an owner have none). */
  private readonly owners = new Map<number, string>();
  private readonly shardOfRun = new Map<string, number>();
  private readonly runOfJob = new Map<string, string>();
  /** `held_runs` with their votes, in creation order: hold id → hold. */
  private readonly holds = new Map<string, Hold>();
  readonly completions: { runId: string; status: string; error: string | null }[] = [];
  loads = 0;
  private readonly onWrite: ((write: AcceptedWrite) => void) | undefined;
  private readonly fenced: boolean;

  constructor(options: MemoryRunStoreOptions = {}) {
    for (const [shard, epoch] of options.shards ?? [[DEFAULT_SHARD, 1]]) this.shards.set(shard, epoch);
    this.onWrite = options.onWrite;
    this.fenced = options.fence !== 'broken';
  }

  /**
   * Stored as a database row would hold it: unset optional fields become null. The run's own
   * `ownerEpoch` is not stored: on load it is its shard's epoch. Unfenced (a test's seed).
   */
  add(run: LoadedRun, shard = DEFAULT_SHARD): void {
    const stored = normalised(structuredClone(run));
    delete stored.run.ownerEpoch;
    this.runs.set(run.run.id, stored);
    this.shardOfRun.set(run.run.id, shard);
    // The first run holding a job id answers for it, as a scan in insertion order would.
    for (const j of stored.jobs) if (!this.runOfJob.has(j.id)) this.runOfJob.set(j.id, run.run.id);
  }

  /**
   * Insert a run with its jobs, steps and edges at the creator's epoch of `shard`, as
   * RunRepository.create does: nothing is inserted unless the shard's row is at `epoch`. A run id
   * already stored is not inserted again (a resumed delivery): true either way once it is there.
   */
  create(run: LoadedRun, shard: number, epoch: number, node?: string): boolean {
    if (this.runs.has(run.run.id)) return true;
    if (this.shards.get(shard) !== epoch) return false;
    this.add(run, shard);
    this.accepted({ kind: 'run_created', shard, epoch, node, runId: run.run.id });
    return true;
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
    this.owners.delete(shard);
    this.accepted({ kind: 'shard_raised', shard, epoch });
    return true;
  }

  /**
   * Raise several shards for `node`, each only forward, as ShardRepository.raise does; returns the
   * shards whose row now names `node` at exactly the epoch asked for (those it may act on). A row
   * already at that epoch for that node counts (a node that re-gains what it holds).
   */
  raise(node: string, shards: readonly { shard: number; epoch: number }[]): number[] {
    const raised: number[] = [];
    for (const { shard, epoch } of shards) {
      const current = this.shards.get(shard);
      if (current === undefined || current < epoch) {
        this.shards.set(shard, epoch);
        this.owners.set(shard, node);
        this.accepted({ kind: 'shard_raised', shard, epoch, node });
      }
      if (this.shards.get(shard) === epoch && this.owners.get(shard) === node) raised.push(shard);
    }
    return raised.sort((a, b) => a - b);
  }

  /** The rows of the shards table, by shard: what the leader places unnamed shards from. */
  shardRows(): { shard: number; node: string; epoch: number }[] {
    return [...this.shards.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([shard, epoch]) => ({ shard, node: this.owners.get(shard) ?? '', epoch }));
  }

  /** The shard's row is gone: no write for its runs goes through. */
  dropShard(shard: number): void {
    this.shards.delete(shard);
    this.owners.delete(shard);
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

  /** The runs of `shards` that have not ended, in id order (RunRepository.listNonTerminal). */
  unfinishedRuns(shards: readonly number[]): RunRecord[] {
    const wanted = new Set(shards);
    return [...this.runs.values()]
      .filter((r) => wanted.has(this.shardOfRun.get(r.run.id)!) && !isTerminalRunStatus(r.run.status))
      .map((r) => structuredClone(r.run))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Jobs the record gives `agentId` that have not ended. */
  jobsHeldBy(agentId: string): HeldJob[] {
    const held: HeldJob[] = [];
    for (const r of this.runs.values()) {
      for (const j of r.jobs) if (j.agentId === agentId && !isTerminalJobStatus(j.status) && j.status !== 'pending') held.push({ runId: r.run.id, jobId: j.id });
    }
    return held;
  }

  // ---- the coordinator's sweeps (JobRepository.listStaleRunning, listOverdueRecoveries, listOverdueAcks)

  /** Running jobs with no heartbeat since `heartbeatBefore` (none yet: started before it). Runs carry no creation time here, so `createdAfter` bounds nothing. */
  async staleRunning(heartbeatBefore: number, _createdAfter: number): Promise<{ runId: string; jobId: string }[]> {
    return this.jobsWhere((j) => j.status === 'running' && (j.lastHeartbeatAt != null ? j.lastHeartbeatAt < heartbeatBefore : (j.startedAt ?? 0) < heartbeatBefore));
  }

  async overdueRecoveries(now: number): Promise<{ runId: string; jobId: string }[]> {
    return this.jobsWhere((j) => j.status === 'recovering' && j.recoveryDeadline != null && j.recoveryDeadline <= now);
  }

  async overdueAcks(now: number): Promise<{ runId: string; jobId: string; dispatchAttempts: number }[]> {
    return this.jobsWhere((j) => j.status === 'queued' && j.ackedAt == null && j.ackDeadline != null && j.ackDeadline <= now).map((j) => ({
      ...j,
      dispatchAttempts: this.job(j.runId, j.jobId).dispatchAttempts,
    }));
  }

  /** An EnvGroupActor's `load`: the slots unfinished jobs of the org's runs hold or wait for in `group`. */
  async environmentSlots(orgId: string, group: string): Promise<StoredEnvGroup> {
    const slots: StoredSlot[] = [];
    for (const r of this.runs.values()) {
      if ((r.run.orgId ?? 'default') !== orgId) continue;
      for (const j of r.jobs) {
        const slot = isTerminalJobStatus(j.status) ? undefined : j.gate?.slots.find((s) => s.group === group);
        if (slot) slots.push({ runId: r.run.id, jobId: j.id, slot: structuredClone(slot) });
      }
    }
    return storedEnvGroup(slots);
  }

  async markRunEnvironment(runId: string, environment: string, fence: WriteFence): Promise<boolean> {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenceHolds(runId, fence)) return false;
    loaded.run.environment = environment;
    return true;
  }

  private jobsWhere(test: (job: JobRecord) => boolean): { runId: string; jobId: string }[] {
    const found: { runId: string; jobId: string }[] = [];
    for (const r of this.runs.values()) for (const j of r.jobs) if (test(j)) found.push({ runId: r.run.id, jobId: j.id });
    return found;
  }

  /**
   * The port with every accepted write reported as made by `node`: each node of a simulated
   * cluster writes through its own view of the one store they share.
   */
  as(node: string): RunStore {
    return {
      loadRun: (runId) => this.loadRun(runId),
      markRunStarted: async (runId, at, fence) => this.runStarted(runId, at, fence, node),
      markRunCancelling: async (runId, fence) => this.runCancelling(runId, fence, node),
      updateJob: async (jobId, patch, guard) => this.jobUpdated(jobId, patch, guard, node),
      updateStep: async (jobId, stepIndex, patch, fence) => this.stepUpdated(jobId, stepIndex, patch, fence, node),
      completeRun: async (runId, status, error, at, fence) => this.runCompleted(runId, status, error, at, fence, node),
      markRunEnvironment: (runId, environment, fence) => this.markRunEnvironment(runId, environment, fence),
      holdJob: async (jobId, hold, patch, guard) => this.jobHeld(jobId, hold, patch, guard, node),
      holdsOfRun: (runId) => this.holdsOfRun(runId),
      changeHold: async (jobId, change, patch, guard) => this.holdChanged(jobId, change, patch, guard, node),
    };
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

  async markRunStarted(runId: string, at: number, fence: WriteFence): Promise<boolean> {
    return this.runStarted(runId, at, fence, undefined);
  }

  async markRunCancelling(runId: string, fence: WriteFence): Promise<boolean> {
    return this.runCancelling(runId, fence, undefined);
  }

  async updateJob(jobId: string, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
    return this.jobUpdated(jobId, patch, guard, undefined);
  }

  async updateStep(jobId: string, stepIndex: number, patch: StepPatch, fence: WriteFence): Promise<boolean> {
    return this.stepUpdated(jobId, stepIndex, patch, fence, undefined);
  }

  async completeRun(runId: string, status: 'success' | 'failed' | 'cancelled', error: string | null, at: number, fence: WriteFence): Promise<boolean> {
    return this.runCompleted(runId, status, error, at, fence, undefined);
  }

  async holdJob(jobId: string, hold: NewHold, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
    return this.jobHeld(jobId, hold, patch, guard, undefined);
  }

  async holdsOfRun(runId: string): Promise<Hold[]> {
    // Votes oldest first by their time, as the repository orders them (not by when they arrived).
    return [...this.holds.values()].filter((h) => h.runId === runId).map((h) => ({ ...structuredClone(h), votes: [...h.votes].sort((a, b) => a.at - b.at) }));
  }

  async changeHold(jobId: string, change: HoldChange, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
    return this.holdChanged(jobId, change, patch, guard, undefined);
  }

  /** Pending holds past their expiry at `now`, earliest expiry first (HoldRepository.overdue). */
  async overdueHolds(now: number, limit: number): Promise<{ runId: string; jobId: string; holdId: string }[]> {
    return [...this.holds.values()]
      .filter((h) => h.status === 'pending' && h.expiresAt <= now)
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .slice(0, limit)
      .map((h) => ({ runId: h.runId, jobId: h.jobId, holdId: h.id }));
  }

  // Every write checks the fence and its guard first and changes nothing unless both hold, as one
  // UPDATE … WHERE <guard> AND EXISTS (SELECT 1 FROM fence WHERE epoch = $epoch) does.

  private runStarted(runId: string, at: number, fence: WriteFence, node: string | undefined): boolean {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenceHolds(runId, fence) || loaded.run.status !== 'pending') return false;
    loaded.run.status = 'running';
    loaded.run.startedAt = at;
    this.accepted({ kind: 'run_started', shard: this.shardOf(runId), epoch: fence.epoch, node, runId });
    return true;
  }

  private runCancelling(runId: string, fence: WriteFence, node: string | undefined): boolean {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenceHolds(runId, fence)) return false;
    if (!['pending', 'running'].includes(loaded.run.status)) return false;
    loaded.run.status = 'cancelling';
    this.accepted({ kind: 'run_cancelling', shard: this.shardOf(runId), epoch: fence.epoch, node, runId });
    return true;
  }

  private jobUpdated(jobId: string, patch: JobPatch, guard: JobWriteGuard, node: string | undefined): boolean {
    const guarded = this.guardedJob(jobId, guard);
    if (!guarded) return false;
    this.jobWritten(guarded, patch, guard, node, 'job');
    return true;
  }

  /** The job's write, and its hold unless one is on record for the job and gate (that one stays). */
  private jobHeld(jobId: string, hold: NewHold, patch: JobPatch, guard: JobWriteGuard, node: string | undefined): boolean {
    if (hold.jobId !== jobId) throw new Error(`a hold for job ${hold.jobId} cannot be written with job ${jobId}`);
    const guarded = this.guardedJob(jobId, guard);
    if (!guarded) return false;
    const held = [...this.holds.values()].some((h) => h.jobId === jobId && h.runId === hold.runId && h.gate === hold.gate);
    if (!held) {
      const id = randomUUID();
      this.holds.set(id, { ...structuredClone(hold), id, status: 'pending', decidedAt: null, decidedBy: null, votes: [] });
    }
    this.jobWritten(guarded, patch, guard, node, 'job_held');
    return true;
  }

  /**
   * Every refusal is found before anything changes, as the repository's transaction rolls back
   * whole: the fence and the job's guard, a hold that is not this job's or not pending, a second vote.
   */
  private holdChanged(jobId: string, change: HoldChange, patch: JobPatch, guard: JobWriteGuard, node: string | undefined): boolean {
    const guarded = this.guardedJob(jobId, guard);
    const hold = this.holds.get(change.holdId);
    if (!guarded || !hold || hold.jobId !== jobId || hold.status !== 'pending') return false;
    if (change.vote && hold.votes.some((v) => v.reviewer === change.vote!.reviewer)) return false;
    // As held_run_approvals keeps it: the voting token goes to the audit, not the vote.
    if (change.vote) hold.votes.push({ reviewer: change.vote.reviewer, verdict: change.vote.verdict, reason: change.vote.reason, at: change.vote.at });
    if (change.status !== 'pending') Object.assign(hold, { status: change.status, decidedAt: change.at, decidedBy: change.vote?.reviewer ?? null });
    this.jobWritten(guarded, patch, guard, node, 'hold_changed');
    return true;
  }

  /** The job, when a write with `guard` would go through: its shard's row at the epoch, its status as expected. */
  private guardedJob(jobId: string, guard: JobWriteGuard): GuardedJob | undefined {
    const loaded = this.ownerOfJob(jobId);
    if (!loaded || !this.fenceHolds(loaded.run.id, guard)) return undefined;
    const job = loaded.jobs.find((j) => j.id === jobId)!;
    if (guard.expectStatus !== undefined && job.status !== guard.expectStatus) return undefined;
    return { runId: loaded.run.id, job };
  }

  private jobWritten({ runId, job }: GuardedJob, patch: JobPatch, guard: JobWriteGuard, node: string | undefined, kind: StoreWriteKind): void {
    Object.assign(job, defined(structuredClone(patch)));
    this.accepted({ kind, shard: this.shardOf(runId), epoch: guard.epoch, node, runId, jobId: job.id, status: job.status });
  }

  private stepUpdated(jobId: string, stepIndex: number, patch: StepPatch, fence: WriteFence, node: string | undefined): boolean {
    const loaded = this.ownerOfJob(jobId);
    if (!loaded || !this.fenceHolds(loaded.run.id, fence)) return false;
    const step = loaded.steps.find((s) => s.jobId === jobId && s.stepIndex === stepIndex);
    if (!step) return false;
    Object.assign(step, defined(patch));
    this.accepted({ kind: 'step', shard: this.shardOf(loaded.run.id), epoch: fence.epoch, node, runId: loaded.run.id, jobId });
    return true;
  }

  private runCompleted(
    runId: string,
    status: 'success' | 'failed' | 'cancelled',
    error: string | null,
    _at: number,
    fence: WriteFence,
    node: string | undefined,
  ): boolean {
    const loaded = this.runs.get(runId);
    if (!loaded || !this.fenceHolds(runId, fence)) return false;
    if (['success', 'failed', 'cancelled'].includes(loaded.run.status)) return false;
    loaded.run.status = status;
    loaded.run.error = error;
    this.completions.push({ runId, status, error });
    this.accepted({ kind: 'run_completed', shard: this.shardOf(runId), epoch: fence.epoch, node, runId });
    return true;
  }

  /** The run's shard row exists and is at exactly the writer's epoch. */
  private fenceHolds(runId: string, fence: WriteFence): boolean {
    const epoch = this.shards.get(this.shardOf(runId));
    return epoch !== undefined && (epoch === fence.epoch || !this.fenced);
  }

  private ownerOfJob(jobId: string): LoadedRun | undefined {
    const runId = this.runOfJob.get(jobId);
    return runId === undefined ? undefined : this.runs.get(runId);
  }

  private accepted(write: AcceptedWrite): void {
    this.onWrite?.(write);
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
    environment: orNull(r.environment),
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
      gate: orNull(j.gate),
    });
  }
  for (const s of loaded.steps) Object.assign(s, { exitCode: orNull(s.exitCode), error: orNull(s.error), startedAt: orNull(s.startedAt), finishedAt: orNull(s.finishedAt) });
  return loaded;
}
