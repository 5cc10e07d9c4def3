import type { JobDispatch } from '../transport/index.js';
import type { AgentDirectory, AgentEntry } from './directory.js';
import type { LabelMatcher } from '../workflows/index.js';

/** What a run asks the dispatcher to place: one job, with the frame to send once an agent is chosen. */
export interface DispatchRequest {
  runId: string;
  jobId: string;
  /** The run's dispatch attempt this request belongs to; a later attempt replaces a queued earlier one. */
  attempt: number;
  runsOn?: LabelMatcher[];
  /** The job.dispatch frame minus its envelope. */
  frame: Omit<JobDispatch, 'type' | 'messageId' | 'timestamp'>;
}

/** Where a job went: to an agent at once, or into the queue. */
export type Placement = { status: 'sent'; agentId: string } | { status: 'queued' };

/** A job handed to an agent and not yet finished. */
export interface InFlight {
  runId: string;
  jobId: string;
  agentId: string;
  acked: boolean;
  /** The dispatch attempt it was placed for; unknown for a job adopted from an agent's report. */
  attempt?: number;
}

export interface DispatcherPorts {
  /** Send the frame to the agent's live connection; false when it has none. */
  sendDispatch(agentId: string, request: DispatchRequest): boolean;
  /** A job that waited in the queue was placed: its run records the agent and watches the ack deadline. */
  assigned(job: InFlight, attempt: number): void;
  queueDepth(pending: number, dispatched: number): void;
  /**
   * Does this node still act for the job's run? A queued job whose run's shard was lost (or whose
   * lease lapsed) is dropped instead of placed: its run's next owner dispatches it again.
   */
  wanted?(request: DispatchRequest): boolean;
}

/** Jobs remembered as served after their agent finished them: enough for any re-sent request. */
const SERVED_REMEMBERED = 10_000;

/**
 * Places jobs on agents: picks by labels and free slots (spreading) and keeps a FIFO of jobs no
 * agent can take yet. It is the node's bookkeeping of slots; whether an agent's word about a job
 * counts, and when a dispatch has gone unanswered too long, is decided by the job's run.
 */
export class JobDispatcher {
  private readonly pending: DispatchRequest[] = [];
  private readonly inflight = new Map<string, InFlight>();
  /** Jobs an agent here finished, by job id, with the attempt and the agent that served it. */
  private readonly served = new Map<string, { agentId: string; attempt: number }>();

  constructor(
    private readonly directory: AgentDirectory,
    private readonly ports: DispatcherPorts,
  ) {}

  /**
   * Place a job now if an agent has a slot, else queue it. A job already placed is left alone; a
   * queued one takes the newer request's place. The caller learns the placement from the result;
   * a job placed later from the queue is reported through `assigned`.
   */
  dispatch(request: DispatchRequest): Placement {
    const placed = this.placeHere(request);
    if (placed) return placed;
    this.enqueue(request);
    return { status: 'queued' };
  }

  /**
   * Place a job on an agent of this node if one has a slot, without queueing it: the job's holder
   * when it is already placed, else the chosen agent (a queued copy of it leaves the queue).
   */
  placeHere(request: DispatchRequest): { status: 'sent'; agentId: string } | undefined {
    const holder = this.inflight.get(request.jobId) ?? this.servedFor(request);
    if (holder) return { status: 'sent', agentId: holder.agentId };
    const agent = this.directory.reserve(request.runsOn);
    const placed = agent && this.send(agent, request, false);
    if (!placed) return undefined;
    this.takeQueued(request.jobId);
    this.reportDepth();
    return { status: 'sent', agentId: placed.agentId };
  }

  /**
   * Another node's run offers a job to one agent of this node: it is sent there if that agent has
   * a slot and the labels, else refused at once (the offering node chooses again). Never queued.
   */
  placeOn(agentId: string, request: DispatchRequest): { status: 'taken'; agentId: string } | { status: 'refused'; reason: string } {
    const holder = this.inflight.get(request.jobId) ?? this.servedFor(request);
    if (holder) return { status: 'taken', agentId: holder.agentId };
    const agent = this.directory.reserveAgent(agentId, request.runsOn);
    if (!agent) return { status: 'refused', reason: this.directory.get(agentId) ? 'the agent has no free slot for these labels' : 'the agent is not connected here' };
    if (!this.send(agent, request, false)) return { status: 'refused', reason: 'the agent is not connected here' };
    this.reportDepth();
    return { status: 'taken', agentId };
  }

  /** Queue a job no agent can take now; a queued copy is replaced by the newer request. */
  enqueue(request: DispatchRequest): void {
    const queued = this.pending.findIndex((p) => p.jobId === request.jobId);
    if (queued >= 0) this.pending[queued] = request;
    else this.pending.push(request);
    this.reportDepth();
  }

  /** The queued requests, oldest first (a copy). */
  queued(): DispatchRequest[] {
    return [...this.pending];
  }

  /** Take a job out of the queue (to offer it elsewhere); undefined when it is not queued. */
  takeQueued(jobId: string): DispatchRequest | undefined {
    const i = this.pending.findIndex((p) => p.jobId === jobId);
    if (i < 0) return undefined;
    const [request] = this.pending.splice(i, 1);
    this.reportDepth();
    return request;
  }

  /** A job taken out for an offer nobody accepted goes back to the head of the queue. */
  putBack(request: DispatchRequest): void {
    if (this.inflight.has(request.jobId) || this.pending.some((p) => p.jobId === request.jobId)) return;
    this.pending.unshift(request);
    this.reportDepth();
  }

  /** Try queued jobs again, oldest first (after a register or a freed slot). */
  drain(): void {
    for (let i = 0; i < this.pending.length; ) {
      const request = this.pending[i];
      if (!this.wanted(request) || this.place(request, true)) this.pending.splice(i, 1);
      else i++;
    }
    this.reportDepth();
  }

  /** job.ack, or job.status running, from the agent holding the job: its dispatch is answered. */
  ack(agentId: string, jobId: string): void {
    const job = this.inflight.get(jobId);
    if (!job || job.agentId !== agentId || job.acked) return;
    job.acked = true;
    this.reportDepth();
  }

  /** The job left the agent (finished, rejected, or lost): free its slot. */
  /**
   * The agent finished the job: its slot frees, and the job is remembered as served, so a request
   * for the same attempt sent again (its run re-activated before the agent's report reached it)
   * gets this agent back instead of a second run of the job.
   */
  finished(jobId: string): InFlight | undefined {
    const job = this.release(jobId);
    if (job?.attempt !== undefined) {
      this.served.delete(jobId);
      this.served.set(jobId, { agentId: job.agentId, attempt: job.attempt });
      if (this.served.size > SERVED_REMEMBERED) this.served.delete(this.served.keys().next().value!);
    }
    return job;
  }

  /** Is the request still this node's to place (see `DispatcherPorts.wanted`)? */
  wanted(request: DispatchRequest): boolean {
    return this.ports.wanted?.(request) ?? true;
  }

  release(jobId: string): InFlight | undefined {
    const job = this.inflight.get(jobId);
    if (!job) return undefined;
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

  private place(request: DispatchRequest, fromQueue: boolean): AgentEntry | undefined {
    const agent = this.directory.reserve(request.runsOn);
    return agent && this.send(agent, request, fromQueue);
  }

  /** Send to an agent whose slot is reserved; the slot is given back when the agent cannot be reached. */
  private send(agent: AgentEntry, request: DispatchRequest, fromQueue: boolean): AgentEntry | undefined {
    const job: InFlight = { runId: request.runId, jobId: request.jobId, agentId: agent.agentId, acked: false, attempt: request.attempt };
    this.inflight.set(request.jobId, job);
    if (!this.ports.sendDispatch(agent.agentId, request)) {
      this.inflight.delete(request.jobId);
      this.directory.release(agent.agentId);
      return undefined;
    }
    if (fromQueue) this.ports.assigned(job, request.attempt);
    return agent;
  }

  private servedFor(request: DispatchRequest): { agentId: string } | undefined {
    const served = this.served.get(request.jobId);
    return served?.attempt === request.attempt ? served : undefined;
  }

  private reportDepth(): void {
    let dispatched = 0;
    for (const j of this.inflight.values()) if (!j.acked) dispatched++;
    this.ports.queueDepth(this.pending.length, dispatched);
  }
}
