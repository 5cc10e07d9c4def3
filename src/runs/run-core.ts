/**
 * The state and the shared moves of a RunActor: loading and resuming from the store, dispatching
 * released jobs, ending jobs through the state machine and the needs scheduler, completing the run
 * exactly once. The message handlers live in run-actor.ts.
 */
import type { ActorContext } from '../actors/index.js';
import { ignored, ok, refusedForeign, type AgentClaim, type RunMessage, type RunReply } from './messages.js';
import { onJobTerminal, recomputeNeeds, type NeedsDecision, type NeedsEdge } from './needs-scheduler.js';
import { jobLabels, needsPayload } from './needs-payload.js';
import type {
  DispatchResult,
  Dispatcher,
  HoldChange,
  JobDispatchRequest,
  JobPatch,
  JobRecord,
  LoadedRun,
  RunObserver,
  RunStore,
  StepLogSink,
  StepPatch,
  StepRecord,
} from './ports.js';
import type { EnvironmentGatePorts } from './gate-ports.js';
import { JobGating, gatedNames, holdError } from './job-gating.js';
import { JobHolds, type HoldWrite } from './job-holds.js';
import { jobInputs, JobInputsUnavailable, type JobInputs, type JobInputSource } from './job-inputs.js';
import { JobTimers } from './job-timers.js';
import { FencedOut, RunWrites, StateConflict } from './run-writes.js';
import { transition, type ExecEvent } from './state-machine.js';
import {
  isTerminalJobStatus,
  isTerminalRunStatus,
  jobState,
  jobStatusToState,
  runFailureSummary,
  runOutcome,
  stateToJobStatus,
  type JobStatus,
} from './statuses.js';

export interface RunActorOptions {
  /** An assigned dispatch must be acked within this (10 s). */
  ackTimeoutMs?: number;
  /**
   * A started job whose agent disconnected waits this long for it to come back (120 s); an
   * unanswered dispatch to an agent on another node waits this long past its ack deadline for
   * that node's word.
   */
  recoveryWindowMs?: number;
  /** Rejects, ack timeouts and lost agents share this budget (5). */
  maxDispatchAttempts?: number;
  /** A job no agent has taken this long after it was first queued fails (24 h). */
  queueTimeoutMs?: number;
}

export interface RunActorDeps {
  store: RunStore;
  dispatcher: Dispatcher;
  /** Where accepted step log lines go; without one they are dropped. */
  logs?: StepLogSink;
  observer?: RunObserver;
  /**
   * The environments and their concurrency groups, for jobs that name `environments` or a
   * `concurrencyGroup`. Without them such a job fails: it is never run ungated.
   */
  environments?: EnvironmentGatePorts;
  /**
   * Its environments' variables and the secrets its steps name, read at each dispatch. Without it
   * a job needing them fails: it is never sent without its secrets.
   */
  inputs?: JobInputSource;
  options?: RunActorOptions;
}

/** A dispatcher that threw is tried again after this long (the attempt counts). */
const DISPATCH_RETRY_MS = 1_000;

export abstract class RunCore {
  protected loaded: LoadedRun | undefined;
  protected jobs = new Map<string, JobRecord>();
  protected completed = false;
  /** Why the run is being cancelled (kept as the run's error if it ends cancelled). */
  protected cancelReason: string | null = null;
  protected cancelDeadline: (() => void) | undefined;
  protected deposed = false;
  protected readonly timers: JobTimers<RunMessage>;
  protected readonly ackTimeoutMs: number;
  protected readonly recoveryWindowMs: number;
  protected readonly maxAttempts: number;
  protected readonly queueTimeoutMs: number;
  /** Cancels for the queue deadlines armed in this activation, by job id. */
  private readonly queueDeadlines = new Map<string, () => void>();
  protected readonly writes: RunWrites;
  protected readonly gating: JobGating;
  protected readonly holds: JobHolds;

  constructor(
    protected readonly ctx: ActorContext<RunMessage>,
    protected readonly deps: RunActorDeps,
  ) {
    this.ackTimeoutMs = deps.options?.ackTimeoutMs ?? 10_000;
    this.recoveryWindowMs = deps.options?.recoveryWindowMs ?? 120_000;
    this.maxAttempts = deps.options?.maxDispatchAttempts ?? 5;
    this.queueTimeoutMs = deps.options?.queueTimeoutMs ?? 24 * 60 * 60_000;
    this.writes = new RunWrites(deps.store, ctx.key, ctx.epoch);
    this.timers = new JobTimers((ms, msg) => ctx.schedule(ms, msg));
    this.holds = this.openHolds();
    this.gating = this.openGating();
  }

  private openHolds(): JobHolds {
    const self = this;
    return new JobHolds(
      {
        get run() {
          return self.run;
        },
        get jobs() {
          return self.jobList;
        },
        clock: this.ctx.clock,
        job: (jobId) => this.jobs.get(jobId),
        save: (job, patch, hold) => this.saveJob(job, patch, hold),
        end: (job, event, error, change) => this.endJob(job, event, 'cancelled', { error }, change),
        proceed: (job) => this.gating.pass(job),
        report: (job, outcome) => this.deps.observer?.gateOutcome?.(this.run, job, outcome),
      },
      this.deps.store,
    );
  }

  private openGating(): JobGating {
    const self = this;
    return new JobGating(
      {
        get run() {
          return self.run;
        },
        clock: this.ctx.clock,
        job: (jobId) => this.jobs.get(jobId),
        save: (job, patch) => this.saveJob(job, patch),
        fail: (job, error) => this.endJob(job, 'FAIL', 'failed', { error }),
        cancel: (job, error) => this.endJob(job, 'CANCEL', 'cancelled', { error }),
        dispatch: (job) => this.dispatchJob(job, undefined),
        report: (job, outcome) => this.deps.observer?.gateOutcome?.(this.run, job, outcome),
        hold: (job, decision) => (this.holds.available ? this.holds.hold(job, decision) : this.endJob(job, 'FAIL', 'failed', { error: holdError(decision) })),
        armTimer: (jobId, ms) => this.timers.arm(jobId, ms, { type: 'gate_timer', jobId }),
        recordEnvironment: async (group) => {
          if (this.run.environment) return;
          await this.writes.runEnvironment(group);
          this.run.environment = group;
        },
      },
      this.deps.environments,
    );
  }

  // ---- lifecycle -------------------------------------------------------------------------

  protected get run() {
    return this.loaded!.run;
  }

  protected get jobList(): JobRecord[] {
    return this.loaded!.jobs;
  }

  protected async reload(): Promise<void> {
    const loaded = await this.deps.store.loadRun(this.ctx.key, this.ctx.epoch);
    this.loaded = loaded;
    this.jobs = new Map(loaded?.jobs.map((j) => [j.id, j]) ?? []);
    this.unsavedQueue.clear();
    this.completed = loaded !== undefined && isTerminalRunStatus(loaded.run.status);
    if (loaded && this.writes.notOwner(loaded)) this.stepDown();
  }

  protected stepDown(): void {
    this.deposed = true;
    this.timers.clear();
    for (const cancel of this.queueDeadlines.values()) cancel();
    this.queueDeadlines.clear();
  }

  /** Release, skip or cancel whatever the stored statuses call for, then re-arm deadlines; safe to repeat. */
  protected async resume(): Promise<RunReply> {
    if (this.completed || this.run.status === 'pending') return ok;
    const cancelling = this.run.status === 'cancelling';
    if (!cancelling) this.armWorkflowDeadline();
    await this.apply(recomputeNeeds(this.jobList, this.loaded!.edges, { runCancelling: cancelling }));
    const now = this.ctx.clock.now();
    for (const job of this.jobList) {
      if (job.status === 'queued' && job.agentId && !job.ackedAt) {
        this.timers.arm(job.id, (job.ackDeadline ?? now) - now, { type: 'ack_timeout', jobId: job.id, attempt: job.dispatchAttempts });
      } else if (job.status === 'queued' && !job.agentId && !this.sent.has(`${job.id}#${job.dispatchAttempts}`)) {
        // The dispatcher's queue may not have survived; the same attempt again is one request to it.
        await this.sendDispatch(job);
      } else if (job.status === 'recovering') {
        this.timers.arm(job.id, (job.recoveryDeadline ?? now + this.recoveryWindowMs) - now, { type: 'recovery_expired', jobId: job.id });
      }
      if (job.status === 'queued' && !job.ackedAt) this.armQueueDeadline(job);
    }
    await this.completeIfDone();
    return ok;
  }

  // ---- dispatch --------------------------------------------------------------------------

  /**
   * Carry out a scheduler decision. Each ending re-enters the scheduler (which may already decide
   * jobs later in this list), so every action first checks the job is still where the decision saw it.
   */
  protected async apply(decision: NeedsDecision): Promise<void> {
    for (const job of this.pick(decision.skip)) {
      if (job.status === 'pending') await this.endJob(job, 'SKIP', 'skipped', { error: skipReason(job, this.jobList, this.loaded!.edges) });
    }
    for (const job of this.pick(decision.cancel)) await this.cancelWaitingJob(job, 'the run was cancelled');
    // Released together, dispatched together: each job's writes are its own, and the store's group
    // commit carries the writes of a wide release in a few statements instead of one per job.
    // Every dispatch ends before the turn does, whatever the others do.
    const released = this.pick(decision.release).filter((job) => job.status === 'pending');
    // A job naming environments goes through their gates first; the others go straight on.
    const settled = await Promise.allSettled(released.map((job) => (gatedNames(job.config) ? this.gating.pass(job) : this.dispatchJob(job, undefined))));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }

  protected pick(ids: string[]): JobRecord[] {
    return ids.map((id) => this.jobs.get(id)).filter((j): j is JobRecord => j !== undefined);
  }

  /** Queue a released job and hand it to the dispatcher, or fail it when its attempts are used up. */
  protected async dispatchJob(job: JobRecord, lastFailure: string | undefined, avoid?: string): Promise<void> {
    if (job.status !== 'pending' && job.status !== 'queued' && job.status !== 'recovering') return;
    const state = job.status === 'queued' ? 'queued' : transition(jobStatusToState(job.status), 'ENQUEUE');
    const attempts = job.dispatchAttempts + 1;
    if (attempts > this.maxAttempts) {
      const error = `no agent took the job after ${this.maxAttempts} dispatch attempts (last: ${lastFailure ?? 'unknown'})`;
      await this.endJob(job, 'FAIL', 'failed', { error });
      return;
    }
    this.queueUnsaved(job, {
      status: stateToJobStatus(state),
      needsSatisfied: true,
      dispatchAttempts: attempts,
      // When the job was first queued: its queue deadline counts from here across requeues.
      dispatchedAt: job.dispatchedAt ?? this.ctx.clock.now(),
      agentId: null,
      // Kept so that agent's copy can be adopted if it comes back before the job is placed again.
      previousAgentId: job.agentId ?? job.previousAgentId ?? null,
      ackDeadline: null,
      ackedAt: null,
    });
    if (avoid) this.avoided(job).add(avoid);
    await this.sendDispatch(job);
    // Failed before anything was sent (its secrets could not be read): nothing waits.
    if (isTerminalJobStatus(job.status)) return;
    // No agent took it at once: the job waits queued, on record.
    if (this.unsavedQueue.has(job.id)) await this.saveJob(job, {});
    this.armQueueDeadline(job);
  }

  /**
   * Queued in memory only, until the next write of the job carries it: when the dispatcher places
   * the job at once, being queued and going to that agent are one write, made before the frame
   * leaves. Until then the store still holds the job as it was, which a takeover resumes alike.
   */
  private readonly unsavedQueue = new Map<string, { expectStatus: JobStatus; patch: JobPatch }>();

  private queueUnsaved(job: JobRecord, patch: JobPatch): void {
    const earlier = this.unsavedQueue.get(job.id);
    this.unsavedQueue.set(job.id, { expectStatus: earlier?.expectStatus ?? job.status, patch: { ...earlier?.patch, ...patch } });
    Object.assign(job, patch);
  }

  /** Dispatch attempts sent during this activation (`jobId#attempt`). */
  protected readonly sent = new Set<string>();

  protected async sendDispatch(job: JobRecord): Promise<void> {
    const inputs = await this.inputsOf(job);
    if (inputs === 'failed') return;
    const attempt = job.dispatchAttempts;
    this.sent.add(`${job.id}#${attempt}`);
    let result: DispatchResult;
    let ownWrite: unknown;
    const record = (agentId: string | null) =>
      this.recordPlacement(job, agentId).catch((error: unknown) => {
        ownWrite = error;
        throw error;
      });
    try {
      result = await this.deps.dispatcher.dispatch({ ...this.dispatchRequest(job), ...inputs }, record);
    } catch (error) {
      // Our own write of the placement (and of the queueing it carries) failed: nothing was sent;
      // the handler decides, as for any failed write.
      if (error === ownWrite || error instanceof FencedOut || error instanceof StateConflict) throw error;
      // Count it like an unanswered dispatch: retried shortly, within the same attempt budget.
      this.deps.observer?.dispatcherFailed?.(this.run, job, error);
      this.timers.arm(job.id, DISPATCH_RETRY_MS, { type: 'ack_timeout', jobId: job.id, attempt });
      return;
    }
    if (result.status !== 'assigned' || job.status !== 'queued' || job.ackedAt) return;
    // A request sent again for a placement made before finds it without recording anything.
    await this.recordPlacement(job, result.agentId);
    this.timers.arm(job.id, Math.max(0, (job.ackDeadline ?? 0) - this.ctx.clock.now()), { type: 'ack_timeout', jobId: job.id, attempt });
  }

  /**
   * The job's variables and secrets for this dispatch (none to resolve: empty). A job that cannot
   * be given them fails with the reason, before anything is sent.
   */
  private async inputsOf(job: JobRecord): Promise<Partial<JobInputs> | 'failed'> {
    try {
      return (await jobInputs(this.run, job.config, this.deps.environments, this.deps.inputs)) ?? {};
    } catch (error) {
      if (!(error instanceof JobInputsUnavailable)) throw error;
      await this.endJob(job, 'FAIL', 'failed', { error: error.message });
      return 'failed';
    }
  }

  /** The agent a dispatch is going to, on record before its frame leaves (see `RecordPlacement`). */
  protected async recordPlacement(job: JobRecord, agentId: string | null): Promise<void> {
    if (job.agentId === agentId && (agentId === null || job.ackDeadline != null)) return;
    await this.saveJob(job, { agentId, ackDeadline: agentId === null ? null : this.ctx.clock.now() + this.ackTimeoutMs });
  }

  protected dispatchRequest(job: JobRecord): JobDispatchRequest {
    return {
      run: this.run,
      runId: this.run.id,
      jobId: job.id,
      jobName: job.name,
      baseName: job.baseName,
      epoch: this.ctx.epoch,
      labels: jobLabels(job.config),
      attempt: job.dispatchAttempts,
      config: job.config,
      matrix: job.matrix ?? null,
      needs: needsPayload(job.id, this.jobList, this.loaded!.edges),
      avoidAgents: [...this.avoided(job)],
    };
  }

  protected readonly avoidedAgents = new Map<string, Set<string>>();
  protected avoided(job: JobRecord): Set<string> {
    let set = this.avoidedAgents.get(job.id);
    if (!set) this.avoidedAgents.set(job.id, (set = new Set()));
    return set;
  }

  protected async requeue(job: JobRecord, reason: string, avoid: string | undefined): Promise<void> {
    this.timers.disarm(job.id);
    await this.dispatchJob(job, reason, avoid);
    await this.completeIfDone();
  }

  /** queued/recovering → running; a start counts as an ack, whatever came before it. */
  protected async startJob(job: JobRecord, agentId: string): Promise<void> {
    const now = this.ctx.clock.now();
    const state = transition(jobStatusToState(job.status), 'START');
    this.timers.disarm(job.id);
    await this.saveJob(job, {
      status: stateToJobStatus(state),
      agentId,
      ackedAt: job.ackedAt ?? now,
      ackDeadline: null,
      recoveryDeadline: null,
      startedAt: job.startedAt ?? now,
      lastHeartbeatAt: now,
    });
  }

  // ---- deadlines and cancellation ----------------------------------------------------------------------

  /** The queue deadline has a timer of its own: the job's ack and recovery timers come and go under it. */
  protected armQueueDeadline(job: JobRecord): void {
    if (this.queueDeadlines.has(job.id) || job.dispatchedAt == null) return;
    const ms = Math.max(0, job.dispatchedAt + this.queueTimeoutMs - this.ctx.clock.now());
    this.queueDeadlines.set(job.id, this.ctx.schedule(ms, { type: 'queue_timeout', jobId: job.id }));
  }

  protected disarmQueueDeadline(jobId: string): void {
    this.queueDeadlines.get(jobId)?.();
    this.queueDeadlines.delete(jobId);
  }

  /** A job no agent has taken yet (queued, not acked) at its deadline fails, saying why. */
  protected async queueTimeout(jobId: string): Promise<RunReply> {
    this.queueDeadlines.delete(jobId);
    const job = this.jobs.get(jobId);
    if (!job || job.status !== 'queued' || job.ackedAt) return ignored('an agent took the job');
    if (job.dispatchedAt == null || this.ctx.clock.now() < job.dispatchedAt + this.queueTimeoutMs) return ignored('the queue deadline is not reached');
    await this.deps.dispatcher.withdraw?.(this.run.id, job.id);
    if (job.agentId) await this.cancelOn(job, job.agentId, true, 'the job waited too long in the queue');
    await this.endJob(job, 'FAIL', 'failed', { error: queueTimeoutError(this.queueTimeoutMs) });
    return ok;
  }

  protected armWorkflowDeadline(): void {
    const deadline = this.workflowDeadline();
    if (deadline === undefined) return;
    this.cancelDeadline?.();
    this.cancelDeadline = this.ctx.schedule(Math.max(0, deadline - this.ctx.clock.now()), { type: 'workflow_timeout' });
  }

  protected workflowDeadline(): number | undefined {
    const { timeoutMs, startedAt } = this.run;
    return timeoutMs && startedAt ? startedAt + timeoutMs : undefined;
  }

  protected async cancelRunningJob(job: JobRecord, force: boolean, reason: string): Promise<void> {
    await this.tellAgentToCancel(job, force, reason);
    if (force) await this.endJob(job, 'CANCEL', 'cancelled', { error: reason });
    else await this.saveJob(job, { status: stateToJobStatus(transition('running', 'CANCEL_GRACEFUL')) });
  }

  /** Jobs no agent has started end at once, without hooks. */
  protected async cancelWaitingJob(job: JobRecord, reason: string): Promise<void> {
    if (job.status !== 'pending' && job.status !== 'queued') return;
    await this.tellAgentToCancel(job, true, reason);
    await this.endJob(job, 'CANCEL', 'cancelled', { error: reason });
  }

  /**
   * A queued job with no agent yet may sit in the dispatcher's queue: the same call withdraws it.
   * A pending job was never handed to the dispatcher, so there is nothing to tell.
   */
  protected async tellAgentToCancel(job: JobRecord, force: boolean, reason: string): Promise<void> {
    if (job.agentId || job.status === 'queued') await this.cancelOn(job, job.agentId ?? undefined, force, reason);
  }

  /**
   * Best effort: an agent we cannot reach now is stopped later by ownership checks, the stale scan
   * or its own reconnect; the run must not crash halfway through a decision because of it.
   */
  protected async cancelOn(job: JobRecord, agentId: string | undefined, force: boolean, reason: string): Promise<void> {
    try {
      await this.deps.dispatcher.cancel({ runId: this.run.id, jobId: job.id, agentId, force, reason });
    } catch (error) {
      this.deps.observer?.dispatcherFailed?.(this.run, job, error);
    }
  }

  // ---- endings ---------------------------------------------------------------------------

  /**
   * Move a job to a terminal status, persist, and let the needs scheduler react. A held job's hold
   * closes in the same write: with `hold` when a vote or the expiry ended it, else as `cancelled`.
   */
  protected async endJob(job: JobRecord, event: ExecEvent, status: JobStatus, extra: JobPatch, hold?: HoldChange): Promise<void> {
    const state = transition(jobState(job), event);
    if (jobStatusToState(status) !== state) throw new Error(`status ${status} does not match state ${state}`);
    this.timers.disarm(job.id);
    const change = hold ?? (await this.holds.closing(job));
    const ending = { ...extra, status, finishedAt: this.ctx.clock.now(), ackDeadline: null, recoveryDeadline: null };
    await this.saveJob(job, ending, change ? { change } : undefined);
    // Its slots go to the next in line only once the ending is on record.
    if (job.gate) this.gating.ended(job);
    await this.endUnfinishedSteps(job);
    const decision = onJobTerminal(this.jobList, this.loaded!.edges, job.id, { runCancelling: this.run.status === 'cancelling' });
    await this.apply(decision);
    await this.completeIfDone();
  }

  /** A job dispatched again starts its steps afresh: the new attempt reports them from the first. */
  protected async resetSteps(job: JobRecord): Promise<void> {
    for (const step of this.loaded!.steps) {
      if (step.jobId !== job.id || step.status === 'pending') continue;
      const patch = { status: 'pending' as const, exitCode: null, error: null, startedAt: null, finishedAt: null };
      await this.saveStep(job, step, patch);
    }
  }

  /**
   * A job that ended leaves no step pending or running: a step its agent never reported on ends
   * with the job (cancelled with a cancelled job, failed with a failed or lost one; never started:
   * skipped), carrying the job's reason. Late reports from the agent cannot change them after.
   */
  protected async endUnfinishedSteps(job: JobRecord): Promise<void> {
    const now = this.ctx.clock.now();
    for (const step of this.loaded!.steps) {
      if (step.jobId !== job.id || (step.status !== 'pending' && step.status !== 'running')) continue;
      const patch =
        step.status === 'running'
          ? { status: runningStepEnd(job.status), exitCode: null, finishedAt: now, error: job.error ?? null }
          : { status: 'skipped' as const, error: job.error ?? null };
      await this.saveStep(job, step, patch);
    }
  }

  protected async completeIfDone(): Promise<void> {
    if (this.completed || this.run.status === 'pending') return;
    if (!this.jobList.every((j) => isTerminalJobStatus(j.status))) return;
    const status = runOutcome(this.jobList.map((j) => j.status));
    const error = status === 'failed' ? runFailureSummary(this.jobList) : status === 'cancelled' ? this.cancelReason : null;
    await this.writes.runCompleted(this.run.status, status, error, this.ctx.clock.now());
    this.completed = true;
    this.cancelDeadline?.();
    Object.assign(this.run, { status, error });
    this.deps.observer?.runCompleted?.(this.run, this.jobList);
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** Jobs of this run that `agentId` holds, limited to the ids it reported (or all, if it reported none). */
  protected held(agentId: string, jobIds: string[]): JobRecord[] {
    const wanted = new Set(jobIds);
    return this.jobList.filter((j) => j.agentId === agentId && (wanted.size === 0 || wanted.has(j.id)));
  }

  /**
   * A claim from an agent that does not hold the job: it changes nothing, the agent is told to stop
   * its copy (best effort), and the refusal is reported so the agents room can log and count it.
   */
  protected async refuse(claim: AgentClaim, reason: string): Promise<RunReply> {
    const { jobId, agentId } = claim;
    try {
      await this.deps.dispatcher.cancel({ runId: this.ctx.key, jobId, agentId, force: true, reason });
    } catch {
      // Unreachable agents are stopped later by their own reconnect or the stale scan.
    }
    this.deps.observer?.foreignClaim?.({ runId: this.ctx.key, jobId, agentId, message: claim.type, reason });
    return refusedForeign(reason);
  }

  /**
   * The job was requeued away from this agent and is not placed anywhere yet: the agent's copy is
   * the job. Take the queued request back so it is not started a second time.
   */
  protected async adopt(job: JobRecord, agentId: string): Promise<void> {
    await this.deps.dispatcher.withdraw?.(this.run.id, job.id);
    await this.startJob(job, agentId);
  }

  protected async stopElsewhere(job: JobRecord, agentId: string, reason: string): Promise<void> {
    await this.cancelOn(job, agentId, true, reason);
  }

  /** Write a job's patch (with its hold's row or change, in the same transaction, when given). */
  protected async saveJob(job: JobRecord, patch: JobPatch, hold?: HoldWrite): Promise<void> {
    const unsaved = this.unsavedQueue.get(job.id);
    this.unsavedQueue.delete(job.id);
    const before = unsaved?.expectStatus ?? job.status;
    await this.writes.job(job, unsaved ? { ...unsaved.patch, ...patch } : patch, before, hold);
    // Taken by an agent, or ended: the queue deadline no longer applies (a requeue arms it again).
    if (job.status !== 'queued' || job.ackedAt) this.disarmQueueDeadline(job.id);
    if (job.status !== before) this.deps.observer?.jobChanged?.(this.run, job, this.stepsOf(job));
  }

  /** A step's patch, written and then applied; false when the store refused it. */
  protected async saveStep(job: JobRecord, step: StepRecord, patch: StepPatch): Promise<boolean> {
    if (!(await this.writes.step(job.id, step.stepIndex, patch))) return false;
    const before = step.status;
    Object.assign(step, patch);
    if (step.status !== before) this.deps.observer?.stepChanged?.(this.run, job, step);
    return true;
  }

  protected stepsOf(job: JobRecord): StepRecord[] {
    return this.loaded!.steps.filter((s) => s.jobId === job.id);
  }
}

/** A step still running when its job ended shares the job's fate; it never claims success it did not report. */
function runningStepEnd(status: JobStatus): 'cancelled' | 'failed' | 'success' {
  if (status === 'cancelled') return 'cancelled';
  return status === 'success' ? 'success' : 'failed';
}

/** Which upstream jobs ended outside what the skipped job accepts, e.g. `needs build, which ended failed`. */
function skipReason(job: JobRecord, jobs: readonly JobRecord[], edges: readonly NeedsEdge[]): string {
  const unmet = edges
    .filter((e) => e.jobId === job.id)
    .map((e) => ({ edge: e, upstream: jobs.find((j) => j.id === e.upstreamJobId) }))
    .filter(({ edge, upstream }) => upstream && isTerminalJobStatus(upstream.status) && !edge.runOn.includes(upstream.status))
    .map(({ edge, upstream }) => `${upstream!.name}, which ended ${upstream!.status} (runs on ${edge.runOn.join(', ')})`);
  return unmet.length > 0 ? `skipped: needs ${unmet.join('; ')}` : 'skipped: an upstream job did not end as this job needs';
}

/** `no agent took the job within 24 h of it being queued`, in the unit that reads best. */
export function queueTimeoutError(ms: number): string {
  const span = ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
  return `no agent took the job within ${span} of it being queued (KICI_QUEUE_TIMEOUT_MS)`;
}
