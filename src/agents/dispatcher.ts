import type { Clock } from '../clock/index.js';
import type { JobDispatch } from '../transport/index.js';
import type { AgentDirectory, AgentEntry } from './directory.js';
import type { LabelMatcher } from './labels.js';

/** What a run asks the dispatcher to place: one job, with the frame to send once an agent is chosen. */
export interface DispatchRequest {
  runId: string;
  jobId: string;
  runsOn?: LabelMatcher[];
  /** The job.dispatch frame minus its envelope. */
  frame: Omit<JobDispatch, 'type' | 'messageId' | 'timestamp'>;
}

/** A job handed to an agent and not yet finished. */
export interface InFlight {
  runId: string;
  jobId: string;
  agentId: string;
  acked: boolean;
  cancelAckTimer?: () => void;
}

export interface DispatcherPorts {
  /** Send the frame to the agent's live connection; false when it has none. */
  sendDispatch(agentId: string, request: DispatchRequest): boolean;
  acked(job: InFlight): void;
  /** The agent did not answer within the deadline; the caller closes it and requeues. */
  ackTimedOut(job: InFlight): void;
  queueDepth(pending: number, dispatched: number): void;
}

/**
 * Places jobs on agents: picks by labels and free slots (spreading), keeps a FIFO of jobs no agent
 * can take yet, and watches the acknowledgement deadline of each dispatch. An ack counts whenever
 * it arrives, even before the deadline is armed, because the in-flight entry exists before the
 * frame leaves.
 */
export class JobDispatcher {
  private readonly pending: DispatchRequest[] = [];
  private readonly inflight = new Map<string, InFlight>();

  constructor(
    private readonly directory: AgentDirectory,
    private readonly clock: Clock,
    private readonly ackTimeoutMs: number,
    private readonly ports: DispatcherPorts,
  ) {}

  /**
   * Place a job now if an agent has a slot, else queue it. A job already placed or queued is left
   * alone. A job placed here has its ack deadline watched by its run (which persists it); a job
   * placed later from the queue is watched here, since its run is not waiting on this call.
   */
  dispatch(request: DispatchRequest): { status: 'sent'; agentId: string } | { status: 'queued' } {
    const holder = this.inflight.get(request.jobId);
    if (holder) return { status: 'sent', agentId: holder.agentId };
    if (this.pending.some((p) => p.jobId === request.jobId)) return { status: 'queued' };
    const placed = this.place(request, false);
    if (!placed) this.pending.push(request);
    this.reportDepth();
    return placed ? { status: 'sent', agentId: placed.agentId } : { status: 'queued' };
  }

  /** Try queued jobs again, oldest first (after a register or a freed slot). */
  drain(): void {
    for (let i = 0; i < this.pending.length; ) {
      if (this.place(this.pending[i], true)) this.pending.splice(i, 1);
      else i++;
    }
    this.reportDepth();
  }

  /** job.ack, or job.status running, from the agent holding the job. */
  ack(agentId: string, jobId: string): InFlight | undefined {
    const job = this.inflight.get(jobId);
    if (!job || job.agentId !== agentId) return undefined;
    if (!job.acked) {
      job.acked = true;
      job.cancelAckTimer?.();
      job.cancelAckTimer = undefined;
      this.ports.acked(job);
      this.reportDepth();
    }
    return job;
  }

  /** The job left the agent (finished, rejected, or lost): free its slot. */
  release(jobId: string): InFlight | undefined {
    const job = this.inflight.get(jobId);
    if (!job) return undefined;
    job.cancelAckTimer?.();
    this.inflight.delete(jobId);
    this.directory.release(job.agentId);
    this.reportDepth();
    return job;
  }

  /**
   * Record a job an agent reports as already running (after a reconnect or an orchestrator
   * restart). A job another agent holds stays with it: it was given there while this agent was
   * away, the run knows it there and will stop this agent's stale copy. Returns whether it was adopted.
   */
  adopt(agentId: string, runId: string, jobId: string): boolean {
    const existing = this.inflight.get(jobId);
    if (existing) return existing.agentId === agentId;
    this.inflight.set(jobId, { runId, jobId, agentId, acked: true });
    this.directory.occupy(agentId);
    return true;
  }

  /** Remove a queued job (its run was cancelled or finished). */
  withdraw(jobId: string): boolean {
    const i = this.pending.findIndex((p) => p.jobId === jobId);
    if (i < 0) return false;
    this.pending.splice(i, 1);
    this.reportDepth();
    return true;
  }

  jobsOf(agentId: string): InFlight[] {
    return [...this.inflight.values()].filter((j) => j.agentId === agentId);
  }

  holder(jobId: string): InFlight | undefined {
    return this.inflight.get(jobId);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  stop(): void {
    for (const job of this.inflight.values()) job.cancelAckTimer?.();
  }

  private place(request: DispatchRequest, watchAck: boolean): AgentEntry | undefined {
    const agent = this.directory.reserve(request.runsOn);
    if (!agent) return undefined;
    const job: InFlight = { runId: request.runId, jobId: request.jobId, agentId: agent.agentId, acked: false };
    this.inflight.set(request.jobId, job);
    if (!this.ports.sendDispatch(agent.agentId, request)) {
      this.inflight.delete(request.jobId);
      this.directory.release(agent.agentId);
      return undefined;
    }
    if (watchAck && !job.acked) {
      job.cancelAckTimer = this.clock.setTimer(this.ackTimeoutMs, () => {
        if (this.inflight.get(job.jobId) !== job || job.acked) return;
        this.release(job.jobId);
        this.ports.ackTimedOut(job);
      });
    }
    return agent;
  }

  private reportDepth(): void {
    let dispatched = 0;
    for (const j of this.inflight.values()) if (!j.acked) dispatched++;
    this.ports.queueDepth(this.pending.length, dispatched);
  }
}
