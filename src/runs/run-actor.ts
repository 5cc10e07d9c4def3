/**
 * The RunActor: the only writer of one run while it is active. It applies every report from agents
 * through the state machine, persists with its shard epoch, releases or skips dependents through the
 * needs scheduler, and completes the run exactly once. Its memory is a cache of the store: on
 * activation it reloads and recomputes, so a restart resumes where the store says the run is.
 */
import type { Actor, ActorFactory, ActorRef, ActorSystem, KindOptions } from '../actors/index.js';
import {
  RECOVERY_EXPIRED_ERROR,
  STALE_ERROR,
  WORKFLOW_TIMEOUT_REASON,
  ignored,
  ok,
  type FinishedJobStatus,
  type RunMessage,
  type RunReply,
} from './messages.js';
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
    if (this.loaded && !this.completed && this.loaded.run.status !== 'pending') await this.guarded(() => this.resume());
  }

  canPassivate(): boolean {
    return this.completed || this.deposed || !this.loaded;
  }

  async receive(msg: RunMessage): Promise<RunReply> {
    if (this.deposed) return ignored('another node owns this run now');
    if (!this.loaded) return ignored('unknown run');
    return this.guarded(() => this.handle(msg));
  }

  private async guarded(work: () => Promise<RunReply>): Promise<RunReply> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof FencedOut) {
        this.stepDown();
        return ignored('another node owns this run now');
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
      case 'job_acked':
        return this.jobAcked(msg.jobId, msg.agentId);
      case 'job_rejected':
        return this.jobRejected(msg.jobId, msg.reason, msg.agentId);
      case 'ack_timeout':
        return this.ackTimeout(msg.jobId, msg.attempt, msg.agentId);
      case 'job_started':
        return this.jobStarted(msg.jobId, msg.agentId);
      case 'job_heartbeat':
        return this.jobHeartbeat(msg.jobId, msg.agentId);
      case 'step_status':
        return this.stepStatus(msg);
      case 'job_finished':
        return this.jobFinished(msg);
      case 'agent_lost':
        return this.agentLost(msg.agentId, msg.jobIds);
      case 'agent_back':
        return this.agentBack(msg.agentId, msg.jobIds);
      case 'recovery_expired':
        return this.recoveryExpired(msg.jobId);
      case 'stale':
        return this.stale(msg.jobId);
      case 'cancel':
        return this.cancelRun(msg.force ?? false, msg.reason ?? 'cancelled by request');
      case 'workflow_timeout':
        return this.workflowTimeout();
    }
  }

  private async start(): Promise<RunReply> {
    if (this.completed) return ignored('the run is already finished');
    if (this.run.status === 'pending') {
      const at = this.ctx.clock.now();
      await this.writes.runStarted('pending', at);
      Object.assign(this.run, { status: 'running', startedAt: at });
    }
    return this.resume();
  }

  // ---- reports from agents ---------------------------------------------------------------

  private async jobAcked(jobId: string, agentId: string): Promise<RunReply> {
    const job = this.jobs.get(jobId);
    if (!job) return ignored('unknown job');
    if (job.status !== 'queued') return ignored(`job is ${job.status}`);
    if (job.agentId && job.agentId !== agentId) return this.foreign(job, agentId);
    this.timers.disarm(job.id);
    await this.saveJob(job, { agentId, ackedAt: this.ctx.clock.now(), ackDeadline: null });
    return ok;
  }

  private async jobRejected(jobId: string, reason: string, agentId?: string): Promise<RunReply> {
    const job = this.jobs.get(jobId);
    if (!job) return ignored('unknown job');
    if (job.status !== 'queued') return ignored(`job is ${job.status}`);
    if (agentId && job.agentId && job.agentId !== agentId) return ignored('rejected by an agent that no longer holds the job');
    await this.requeue(job, `rejected: ${reason}`, agentId ?? job.agentId ?? undefined);
    return ok;
  }

  private async ackTimeout(jobId: string, attempt?: number, reportedBy?: string): Promise<RunReply> {
    const job = this.jobs.get(jobId);
    if (!job) return ignored('unknown job');
    if (job.status !== 'queued' || job.ackedAt) return ignored('the job was answered');
    if (attempt !== undefined && attempt !== job.dispatchAttempts) return ignored('an older dispatch attempt');
    if (reportedBy && job.agentId && job.agentId !== reportedBy) return ignored('the job is with another agent now');
    const agentId = reportedBy ?? job.agentId ?? undefined;
    // When the agents room reports the timeout it has already dealt with the agent.
    if (agentId && !reportedBy) {
      try {
        await this.deps.dispatcher.ackTimedOut?.(agentId, job.id);
      } catch (error) {
        this.deps.observer?.dispatcherFailed?.(this.run, job, error);
      }
    }
    await this.requeue(job, agentId ? 'no ack within the deadline' : 'the dispatcher could not place the job', agentId);
    return ok;
  }

  private async jobStarted(jobId: string, agentId: string): Promise<RunReply> {
    const job = this.jobs.get(jobId);
    if (!job) return ignored('unknown job');
    if (job.agentId && job.agentId !== agentId) return this.foreign(job, agentId);
    if (job.status === 'running') return ignored('already running');
    if (job.status !== 'queued' && job.status !== 'recovering') return ignored(`job is ${job.status}`);
    await this.startJob(job, agentId);
    return ok;
  }

  private async jobHeartbeat(jobId: string, agentId?: string): Promise<RunReply> {
    const job = this.jobs.get(jobId);
    if (!job || job.status !== 'running') return ignored('job is not running');
    if (agentId && job.agentId !== agentId) return ignored('heartbeat from an agent that does not hold the job');
    await this.saveJob(job, { lastHeartbeatAt: this.ctx.clock.now() });
    return ok;
  }

  private async stepStatus(msg: Extract<RunMessage, { type: 'step_status' }>): Promise<RunReply> {
    const job = this.jobs.get(msg.jobId);
    if (!job) return ignored('unknown job');
    if (isTerminalJobStatus(job.status) || job.status === 'pending') return ignored(`job is ${job.status}`);
    if (msg.agentId && job.agentId && job.agentId !== msg.agentId) return ignored('status from an agent that does not hold the job');
    if (job.status === 'queued' && msg.agentId) await this.startJob(job, msg.agentId);
    const step = this.loaded!.steps.find((s) => s.jobId === job.id && s.stepIndex === msg.stepIndex);
    if (!step) return ignored('unknown step');
    if (step.status !== 'pending' && step.status !== 'running') return ignored(`step is ${step.status}`);
    const now = this.ctx.clock.now();
    const patch =
      msg.status === 'running'
        ? { status: msg.status, startedAt: now }
        : { status: msg.status, finishedAt: now, exitCode: msg.exitCode ?? null };
    if (!(await this.writes.step(job.id, msg.stepIndex, patch))) return ignored('step not stored');
    Object.assign(step, patch);
    return ok;
  }

  private async jobFinished(msg: Extract<RunMessage, { type: 'job_finished' }>): Promise<RunReply> {
    const job = this.jobs.get(msg.jobId);
    if (!job) return ignored('unknown job');
    if (isTerminalJobStatus(job.status)) return ignored(`job is already ${job.status}`);
    if (job.status === 'pending') return ignored('job was never dispatched');
    if (msg.agentId && job.agentId && job.agentId !== msg.agentId) return this.foreign(job, msg.agentId);
    // A final status proves the job ran, even if its start report was lost or is still in flight.
    if (job.status === 'queued' || job.status === 'recovering') await this.startJob(job, msg.agentId ?? job.agentId ?? 'unknown');
    const event = finishEvent(jobStatusToState(job.status) === 'cancelling', msg.status);
    const status = stateToJobStatus(transition(jobStatusToState(job.status), event));
    await this.endJob(job, event, status, { outputs: msg.outputs ?? {}, error: msg.error ?? null });
    return ok;
  }

  // ---- agent connectivity ----------------------------------------------------------------

  private async agentLost(agentId: string, jobIds: string[]): Promise<RunReply> {
    let changed = false;
    for (const job of this.held(agentId, jobIds)) {
      if (job.status === 'queued') {
        await this.requeue(job, `agent ${agentId} disconnected before starting the job`, agentId);
      } else if (job.status === 'running') {
        const recoveryDeadline = this.ctx.clock.now() + this.recoveryWindowMs;
        await this.saveJob(job, { status: stateToJobStatus(transition('running', 'RECOVER')), recoveryDeadline });
        this.timers.arm(job.id, this.recoveryWindowMs, { type: 'recovery_expired', jobId: job.id });
      } else if (job.status === 'cancelling') {
        // It was being cancelled anyway; nobody is left to report the outcome.
        await this.endJob(job, 'CANCEL_FORCE', 'cancelled', { error: 'agent disconnected while cancelling' });
      } else continue;
      changed = true;
    }
    return changed ? ok : ignored('the agent held no job of this run');
  }

  private async agentBack(agentId: string, jobIds: string[]): Promise<RunReply> {
    for (const jobId of jobIds) {
      const job = this.jobs.get(jobId);
      if (!job) continue;
      if (job.status === 'queued' && !job.agentId) {
        // Requeued while its agent was away and not placed anywhere yet: the returning copy is
        // the job. Take the queued request back so it is not started a second time.
        await this.deps.dispatcher.withdraw?.(this.run.id, job.id);
        await this.startJob(job, agentId);
      } else if (job.agentId !== agentId) {
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
