/**
 * The RunActor: the only writer of one run while it is active. It applies every report from agents
 * through the state machine, persists with its shard epoch, releases or skips dependents through the
 * needs scheduler, and completes the run exactly once. Its memory is a cache of the store: on
 * activation it reloads and recomputes, so a restart resumes where the store says the run is.
 */
import type { Actor, ActorFactory, ActorRef, ActorSystem, KindOptions } from '../actors/index.js';
import { claimOf, withinFinishedGrace, type Claim } from './job-claims.js';
import {
  AGENT_RESTARTED_ERROR,
  RECOVERY_EXPIRED_ERROR,
  STALE_ERROR,
  UNANSWERED_DISPATCH_ERROR,
  WORKFLOW_TIMEOUT_REASON,
  ignored,
  movedAway,
  isAgentClaim,
  ok,
  recordedAt,
  type AgentClaim,
  type FinishedJobStatus,
  type RunMessage,
  type RunReply,
} from './messages.js';
import type { JobRecord } from './ports.js';
import { RunCore, type RunActorDeps } from './run-core.js';
import { FencedOut, StateConflict } from './run-writes.js';
import { transition, type ExecEvent } from './state-machine.js';
import { isTerminalJobStatus, jobStatusToState, stateToJobStatus } from './statuses.js';

export const RUN_ACTOR_KIND = 'run';

export function runActorFactory(deps: RunActorDeps): ActorFactory<RunMessage> {
  return (ctx) => new RunActor(ctx, deps);
}

/** Register the `run` kind on a node's actor system. */
export function registerRunActor(system: ActorSystem, deps: RunActorDeps, options: KindOptions<RunMessage> = {}): void {
  // A run that crashed mid-decision picks itself up again instead of waiting for the next report.
  system.register(RUN_ACTOR_KIND, runActorFactory(deps), { wakeAfterFailure: { type: 'resume' }, ...options });
}

/** The ref of one run's actor, wherever it lives. */
export function runRef(system: ActorSystem, runId: string): ActorRef<RunMessage> {
  return system.ref<RunMessage>(RUN_ACTOR_KIND, runId);
}

export class RunActor extends RunCore implements Actor<RunMessage> {
  async onActivate(): Promise<void> {
    await this.reload();
    if (!this.loaded || this.completed || this.loaded.run.status === 'pending') return;
    await this.guarded(async () => {
      await this.extendRecoveryWindows();
      return this.resume();
    });
  }

  /**
   * A run comes up on a node after a restart (or a move): an agent waiting to reconnect could not
   * reach it meanwhile, so each job in recovery gets a whole window from now, not what was left.
   */
  private async extendRecoveryWindows(): Promise<void> {
    const deadline = this.ctx.clock.now() + this.recoveryWindowMs;
    for (const job of this.jobList) {
      if (job.status === 'recovering' && (job.recoveryDeadline ?? 0) < deadline) await this.saveJob(job, { recoveryDeadline: deadline });
    }
  }

  canPassivate(): boolean {
    return this.completed || this.deposed || !this.loaded;
  }

  async receive(msg: RunMessage): Promise<RunReply> {
    if (this.deposed) return movedAway;
    if (!this.loaded) return isAgentClaim(msg) ? this.refuse(msg, 'no such run') : ignored('unknown run');
    return this.guarded(() => this.handle(msg));
  }

  private async guarded(work: () => Promise<RunReply>): Promise<RunReply> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof FencedOut) {
        this.stepDown();
        return movedAway;
      }
      if (!(error instanceof StateConflict)) throw error;
      // The store moved under us (another writer won a guard): act on what it says now.
      await this.reload();
      if (this.deposed || !this.loaded || this.completed) return ignored('the stored state changed');
      await this.resume();
      return ignored('the stored state changed');
    }
  }

  private async handle(msg: RunMessage): Promise<RunReply> {
    switch (msg.type) {
      case 'start':
        return this.start();
      case 'resume':
        return this.run.status === 'pending' ? ignored('the run has not started') : this.resume();
      case 'job_assigned':
        return this.jobAssigned(msg);
      case 'ack_timeout':
        return this.ackTimeout(msg.jobId, msg.attempt, msg.confirm === true);
      case 'job_acked':
        return this.judged(msg, (job) => this.jobAcked(job, msg.agentId));
      case 'job_rejected':
        return this.judged(msg, (job) => this.jobRejected(job, msg.reason, msg.agentId));
      case 'job_started':
        return this.judged(msg, (job) => this.jobStarted(job, msg.agentId));
      case 'job_heartbeat':
        return this.judged(msg, (job) => this.jobHeartbeat(job));
      case 'step_status':
        return this.judged(msg, (job, how) => (how === 'finished_here' ? Promise.resolve(ignored(`job is ${job.status}`)) : this.stepStatus(job, msg)));
      case 'job_finished':
        return this.judged(msg, (job) => this.jobFinished(job, msg));
      case 'job_logs':
        return this.judged(msg, async (job, how) => this.jobLogs(job, how, msg));
      case 'agent_lost':
        return this.agentLost(msg.agentId, msg.jobIds);
      case 'agent_back':
        return this.agentBack(msg.agentId, msg.jobIds);
      case 'agent_unreachable':
        return this.agentUnreachable(msg.agentId, msg.jobIds, msg.windowMs);
      case 'agent_restarted':
        return this.agentRestarted(msg.agentId, msg.jobIds, msg.at);
      case 'recovery_expired':
        return this.recoveryExpired(msg.jobId);
      case 'queue_timeout':
        return this.queueTimeout(msg.jobId);
      case 'stale':
        return this.stale(msg.jobId);
      case 'cancel':
        return this.cancelRun(msg.force ?? false, msg.reason ?? 'cancelled by request');
      case 'workflow_timeout':
        return this.workflowTimeout();
      case 'env_slot':
        return this.gating.slotNotice(msg.jobId, msg.group, msg.verdict, msg.reason);
      case 'gate_timer':
        return this.gating.timerDone(msg.jobId);
      case 'hold_vote':
        return this.holds.vote(msg);
      case 'hold_expired':
        return this.holds.expire(msg.jobId, msg.holdId);
    }
  }

  private async start(): Promise<RunReply> {
    if (this.completed) return ignored('the run is already finished');
    if (this.run.status !== 'pending') return this.resume();
    const at = this.ctx.clock.now();
    // The run's start and its first jobs' placements go to the store together rather than one
    // after the other: a dispatch is on record (its job's write) before its frame leaves, which
    // is what keeps a job from running twice; the run's own status does not guard it. A refused
    // start still fails the turn, after every write of it has settled.
    const started = this.writes.runStarted('pending', at);
    Object.assign(this.run, { status: 'running', startedAt: at });
    this.deps.observer?.runStarted?.(this.run, this.jobList, this.loaded!.steps);
    const [start, resumed] = await Promise.allSettled([started, this.resume()]);
    if (start.status === 'rejected') throw start.reason;
    if (resumed.status === 'rejected') throw resumed.reason;
    return resumed.value;
  }

  // ---- reports from agents ---------------------------------------------------------------

  /** Judge a claim against the job's record; a foreign one is refused before any handler sees it. */
  private async judged(claim: AgentClaim, handle: (job: JobRecord, how: Claim) => Promise<RunReply>): Promise<RunReply> {
    const job = this.jobs.get(claim.jobId);
    const how = claimOf(job, claim.agentId);
    if (how === 'foreign') return this.refuse(claim, job ? 'the job is not dispatched to this agent' : 'no such job in this run');
    // The agent the job was requeued from brings its copy back: that copy is the job.
    if (how === 'returning' && claim.type !== 'job_logs') await this.adopt(job!, claim.agentId);
    return handle(job!, how);
  }

  private async jobAssigned(msg: Extract<RunMessage, { type: 'job_assigned' }>): Promise<RunReply> {
    const job = this.jobs.get(msg.jobId);
    if (!job || job.status !== 'queued' || job.ackedAt || job.dispatchAttempts !== msg.attempt) return ignored('not this dispatch');
    if ((job.agentId ?? null) !== msg.previous) return ignored('the job was placed elsewhere');
    if (msg.agentId === null) {
      await this.saveJob(job, { agentId: null, ackDeadline: null });
      this.timers.disarm(job.id);
      return recordedAt(this.ctx.epoch);
    }
    await this.saveJob(job, { agentId: msg.agentId, ackDeadline: this.ctx.clock.now() + this.ackTimeoutMs });
    this.timers.arm(job.id, this.ackTimeoutMs, { type: 'ack_timeout', jobId: job.id, attempt: msg.attempt });
    return recordedAt(this.ctx.epoch);
  }

  private async jobAcked(job: JobRecord, agentId: string): Promise<RunReply> {
    if (job.status !== 'queued' || job.ackedAt) return ignored(`job is ${job.status}`);
    this.timers.disarm(job.id);
    await this.saveJob(job, { agentId, ackedAt: this.ctx.clock.now(), ackDeadline: null });
    return ok;
  }

  private async jobRejected(job: JobRecord, reason: string, agentId: string): Promise<RunReply> {
    if (job.status !== 'queued' || job.ackedAt) return ignored(`job is ${job.status}`);
    await this.requeue(job, `rejected: ${reason}`, agentId);
    return ok;
  }

  private async ackTimeout(jobId: string, attempt: number, confirmed: boolean): Promise<RunReply> {
    const job = this.jobs.get(jobId);
    if (!job) return ignored('unknown job');
    if (job.status !== 'queued' || job.ackedAt) return ignored('the job was answered');
    if (attempt !== job.dispatchAttempts) return ignored('an older dispatch attempt');
    if (!confirmed) {
      // After a stall of this node's event loop, timers run before the sockets are read: the
      // deadline fires while the ack sits unread. A zero-delay timer runs after they are read, so
      // the ack (relayed into this mailbox meanwhile) is handled first and the job is not placed
      // a second time while its agent runs it.
      this.timers.arm(job.id, 0, { type: 'ack_timeout', jobId, attempt, confirm: true });
      return ignored('looked at again a turn later');
    }
    const agentId = job.agentId ?? undefined;
    if (agentId && (await this.mayStillHold(job, agentId))) return this.awaitAgentsWord(job, agentId);
    await this.requeue(job, agentId ? 'no ack within the deadline' : 'the dispatcher could not place the job', agentId);
    return ok;
  }

  /**
   * Tell the agents room the dispatch went unanswered, and hear whether the agent may still hold the
   * job: it did ack (the word is on its way), or its socket is on another node. This node's deadline
   * says nothing about an agent elsewhere: its ack crosses the mesh, which may be slow or, after a
   * shard move, not know this node owns the run yet. Only the node holding it can judge it.
   */
  private async mayStillHold(job: JobRecord, agentId: string): Promise<boolean> {
    try {
      const found = await this.deps.dispatcher.ackTimedOut?.(agentId, job.id);
      return found === 'acked' || found === 'asked';
    } catch (error) {
      this.deps.observer?.dispatcherFailed?.(this.run, job, error);
      return false;
    }
  }

  /**
   * No second agent while the first may run the job: it stays on record with its agent until that
   * agent's word arrives (its ack or reports, a reject, its loss, or its registering again without
   * the job), asking again every ack window. Past the recovery window without a word it fails: placing
   * it again could run it twice, and the agent is told to drop its copy should it have one.
   */
  private async awaitAgentsWord(job: JobRecord, agentId: string): Promise<RunReply> {
    const now = this.ctx.clock.now();
    const deadline = job.ackDeadline ?? now;
    // On record, so the wait ends at the same time however often it is looked at, and by whichever owner.
    if (job.ackDeadline == null) await this.saveJob(job, { ackDeadline: deadline });
    const giveUpAt = deadline + this.recoveryWindowMs;
    if (now >= giveUpAt) {
      await this.endJob(job, 'FAIL', 'failed', { error: UNANSWERED_DISPATCH_ERROR });
      await this.cancelOn(job, agentId, true, UNANSWERED_DISPATCH_ERROR);
      return ok;
    }
    this.timers.arm(job.id, Math.min(this.ackTimeoutMs, giveUpAt - now), { type: 'ack_timeout', jobId: job.id, attempt: job.dispatchAttempts });
    return ignored('the agent may hold the job: waiting for its word');
  }

  private async jobStarted(job: JobRecord, agentId: string): Promise<RunReply> {
    if (job.status === 'running') return ignored('already running');
    if (job.status !== 'queued' && job.status !== 'recovering') return ignored(`job is ${job.status}`);
    await this.startJob(job, agentId);
    return ok;
  }

  private async jobHeartbeat(job: JobRecord): Promise<RunReply> {
    if (job.status !== 'running') return ignored('job is not running');
    await this.saveJob(job, { lastHeartbeatAt: this.ctx.clock.now() });
    return ok;
  }

  private async stepStatus(job: JobRecord, msg: Extract<AgentClaim, { type: 'step_status' }>): Promise<RunReply> {
    if (isTerminalJobStatus(job.status)) return ignored(`job is ${job.status}`);
    // A step report proves the job started, even if its start report was lost or is still in flight.
    if (job.status === 'queued') await this.startJob(job, msg.agentId);
    const step = this.loaded!.steps.find((s) => s.jobId === job.id && s.stepIndex === msg.stepIndex);
    if (!step) return ignored('unknown step');
    if (step.status !== 'pending' && step.status !== 'running') return ignored(`step is ${step.status}`);
    const now = this.ctx.clock.now();
    const patch =
      msg.status === 'running'
        ? { status: msg.status, startedAt: now }
        : // A cancelled step was stopped, whatever its process returned: it never shows exit 0.
          { status: msg.status, finishedAt: now, exitCode: msg.status === 'cancelled' ? null : (msg.exitCode ?? null) };
    return (await this.saveStep(job, step, patch)) ? ok : ignored('step not stored');
  }

  private async jobFinished(job: JobRecord, msg: Extract<AgentClaim, { type: 'job_finished' }>): Promise<RunReply> {
    if (isTerminalJobStatus(job.status)) return ignored(`job is already ${job.status}`);
    // A final status proves the job ran, even if its start report was lost or is still in flight.
    if (job.status === 'queued' || job.status === 'recovering') await this.startJob(job, msg.agentId);
    const event = finishEvent(jobStatusToState(job.status) === 'cancelling', msg.status);
    const status = stateToJobStatus(transition(jobStatusToState(job.status), event));
    await this.endJob(job, event, status, { outputs: msg.outputs ?? {}, error: msg.error ?? null });
    return ok;
  }

  /** Log lines from the holder are stored; from the job's own agent after it ended, only for a while. */
  private jobLogs(job: JobRecord, how: Claim, msg: Extract<AgentClaim, { type: 'job_logs' }>): RunReply {
    if (how === 'finished_here' && !withinFinishedGrace(job, this.ctx.clock.now())) return ignored('the job ended long ago');
    this.deps.logs
      ?.append(this.run.id, job.id, msg.stepIndex, msg.text)
      .catch((error: unknown) => this.deps.observer?.logsNotStored?.(this.run.id, job.id, error));
    return ok;
  }

  // ---- agent connectivity ----------------------------------------------------------------

  private async agentLost(agentId: string, jobIds: string[]): Promise<RunReply> {
    let changed = false;
    for (const job of this.held(agentId, jobIds)) {
      if (job.status === 'queued') {
        await this.requeue(job, `agent ${agentId} disconnected before starting the job`, agentId);
      } else if (job.status === 'running') {
        await this.awaitRecovery(job, this.recoveryWindowMs);
      } else if (job.status === 'cancelling') {
        // It was being cancelled anyway; nobody is left to report the outcome.
        await this.endJob(job, 'CANCEL_FORCE', 'cancelled', { error: 'agent disconnected while cancelling' });
      } else continue;
      changed = true;
    }
    return changed ? ok : ignored('the agent held no job of this run');
  }

  /** Only running jobs wait: one not started yet is left to its ack deadline, the others to their agent. */
  private async agentUnreachable(agentId: string, jobIds: string[], windowMs: number): Promise<RunReply> {
    const running = this.held(agentId, jobIds).filter((job) => job.status === 'running');
    for (const job of running) await this.awaitRecovery(job, windowMs);
    return running.length > 0 ? ok : ignored('the agent held no running job of this run');
  }

  private async awaitRecovery(job: JobRecord, windowMs: number): Promise<void> {
    await this.saveJob(job, { status: stateToJobStatus(transition('running', 'RECOVER')), recoveryDeadline: this.ctx.clock.now() + windowMs });
    this.timers.arm(job.id, windowMs, { type: 'recovery_expired', jobId: job.id });
  }

  private async agentBack(agentId: string, jobIds: string[]): Promise<RunReply> {
    for (const jobId of jobIds) {
      const job = this.jobs.get(jobId);
      if (!job) continue;
      const how = claimOf(job, agentId);
      if (how === 'returning') {
        await this.adopt(job, agentId);
      } else if (how === 'foreign') {
        // The job went to another agent (or ended) while this one was away: make it stop.
        await this.stopElsewhere(job, agentId, 'the job was reassigned while the agent was away');
      } else if (job.status === 'recovering') {
        await this.startJob(job, agentId);
      } else if (isTerminalJobStatus(job.status)) {
        await this.stopElsewhere(job, agentId, `the job already ended ${job.status}`);
      }
    }
    return ok;
  }

  /**
   * The agent came back without jobs the record gives it, so they went with its previous process:
   * each is lost now, not after a recovery window. It is dispatched again while its attempts last,
   * else it fails. Only jobs given to the agent before it registered count: one placed on it since
   * is not in its list yet.
   */
  private async agentRestarted(agentId: string, jobIds: string[], at: number): Promise<RunReply> {
    let changed = false;
    for (const job of this.held(agentId, jobIds)) {
      if (!this.givenBefore(job, at)) continue;
      if (job.status === 'cancelling') {
        await this.endJob(job, 'CANCEL_FORCE', 'cancelled', { error: AGENT_RESTARTED_ERROR });
      } else if (job.status === 'queued' || job.status === 'running' || job.status === 'recovering') {
        await this.dispatchAgain(job, agentId);
      } else continue;
      changed = true;
    }
    return changed ? ok : ignored('the agent lost no job of this run');
  }

  private givenBefore(job: JobRecord, at: number): boolean {
    const given = job.startedAt ?? job.ackedAt ?? (job.ackDeadline != null ? job.ackDeadline - this.ackTimeoutMs : null);
    return given != null && given <= at;
  }

  private async dispatchAgain(job: JobRecord, agentId: string): Promise<void> {
    if (job.dispatchAttempts >= this.maxAttempts) {
      await this.endJob(job, 'FAIL', 'failed', { error: AGENT_RESTARTED_ERROR });
      return;
    }
    if (job.status === 'running') await this.saveJob(job, { status: stateToJobStatus(transition('running', 'RECOVER')) });
    await this.resetSteps(job);
    await this.requeue(job, AGENT_RESTARTED_ERROR, agentId);
  }

  private async recoveryExpired(jobId: string): Promise<RunReply> {
    const job = this.jobs.get(jobId);
    if (!job || job.status !== 'recovering') return ignored('job is not recovering');
    if (job.recoveryDeadline && this.ctx.clock.now() < job.recoveryDeadline) return ignored('the recovery window is still open');
    await this.endJob(job, 'FAIL', 'failed', { error: RECOVERY_EXPIRED_ERROR });
    return ok;
  }

  private async stale(jobId: string): Promise<RunReply> {
    const job = this.jobs.get(jobId);
    if (!job || job.status !== 'running') return ignored('job is not running');
    const agentId = job.agentId;
    await this.endJob(job, 'FAIL', 'timed_out_stale', { error: STALE_ERROR });
    if (agentId) await this.cancelOn(job, agentId, true, 'job marked stale');
    return ok;
  }

  private async workflowTimeout(): Promise<RunReply> {
    const deadline = this.workflowDeadline();
    if (this.completed || this.run.status === 'pending') return ignored('the run is not running');
    if (deadline === undefined || this.ctx.clock.now() < deadline) return ignored('the workflow deadline is not reached');
    if (this.run.status === 'cancelling') return ignored('the run is already being cancelled');
    return this.cancelRun(false, WORKFLOW_TIMEOUT_REASON);
  }

  private async cancelRun(force: boolean, reason: string): Promise<RunReply> {
    if (this.completed) return ignored('the run is already finished');
    this.cancelReason ??= reason;
    this.cancelDeadline?.();
    if (this.run.status !== 'cancelling') {
      await this.writes.runCancelling(this.run.status);
      this.run.status = 'cancelling';
    }
    for (const job of this.jobList) {
      if (job.status === 'pending' || job.status === 'queued') await this.cancelWaitingJob(job, reason);
      else if (job.status === 'recovering') await this.endJob(job, 'CANCEL', 'cancelled', { error: reason });
      else if (job.status === 'running') await this.cancelRunningJob(job, force, reason);
      else if (job.status === 'cancelling' && force) {
        await this.tellAgentToCancel(job, true, reason);
        await this.endJob(job, 'CANCEL_FORCE', 'cancelled', { error: reason });
      }
    }
    await this.completeIfDone();
    return ok;
  }
}

function finishEvent(cancelling: boolean, status: FinishedJobStatus): ExecEvent {
  if (cancelling) return status === 'failed' ? 'FAIL' : 'COMPLETE';
  if (status === 'success') return 'SUCCEED';
  return status === 'failed' ? 'FAIL' : 'CANCEL';
}
