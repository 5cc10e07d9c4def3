import type { JobDispatch } from '../transport/index.js';
import { CoalescedPasses } from './coalesced-passes.js';
import type { AgentDirectory } from './directory.js';
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
  /** False while the slot is only reserved: its run is recording the agent, no frame has left yet. */
  sent: boolean;
}

/**
 * Writes where a job is going into its run's record before the frame leaves (null: nowhere, it
 * waits in a queue). Throws when the run may no longer act: nothing is sent then.
 */
export type RecordAgent = (agentId: string | null) => Promise<void>;

export interface DispatcherPorts {
  /** Send the frame to the agent's live connection; false when it has none. */
  sendDispatch(agentId: string, request: DispatchRequest): boolean;
  /**
   * A job that waited in the queue is about to go to `agentId` (null: back to the queue): its run
   * records that, if the job is still on record with `previous`, and answers with its epoch for
   * the frame; undefined when it refused (it placed or ended the job meanwhile, or moved).
   */
  assign(request: DispatchRequest, agentId: string | null, previous: string | null): Promise<number | undefined>;
  queueDepth(pending: number, dispatched: number): void;
  /**
   * Does this node still act for the job's run? A queued job whose run's shard was lost (or whose
   * lease lapsed) is dropped instead of placed: its run's next owner dispatches it again.
   */
  wanted?(request: DispatchRequest): boolean;
  /** A job's slot here freed: it finished, was refused, went with its agent, or its reservation was given back. */
  released?(job: InFlight): void;
  /** A job an agent reports as running was taken (back) as that agent's (see `adopt`). */
  adopted?(job: InFlight): void;
}

/** Jobs remembered as served after their agent finished them: enough for any re-sent request. */
const SERVED_REMEMBERED = 10_000;
/** Agents tried in turn when the one reserved lost its socket while its name was recorded. */
const RESERVE_TRIES = 3;

/**
 * Places jobs on agents: picks by labels and free slots (spreading) and keeps a FIFO of jobs no
 * agent can take yet. It is the node's bookkeeping of slots; whether an agent's word about a job
 * counts, and when a dispatch has gone unanswered too long, is decided by the job's run.
 */
export class JobDispatcher {
  private readonly pending: DispatchRequest[] = [];
  private readonly inflight = new Map<string, InFlight>();
  /** In flight and not acknowledged yet, counted as it changes (the depth gauge is set on every change). */
  private unacked = 0;
  /** Jobs an agent here finished, by job id, with the agent that served it and the attempt (when known). */
  private readonly served = new Map<string, { runId: string; agentId: string; attempt?: number }>();
  private readonly draining = new CoalescedPasses(() => this.drainPass());

  constructor(
    private readonly directory: AgentDirectory,
    private readonly ports: DispatcherPorts,
  ) {}

  /** Place a job now if an agent has a slot, else queue it (see `placeHere`). */
  async dispatch(request: DispatchRequest, record: RecordAgent): Promise<Placement> {
    const placed = await this.placeHere(request, record);
    if (placed) return placed;
    await record(null);
    this.enqueue(request);
    return { status: 'queued' };
  }

  /**
   * Place a job on an agent of this node if one has a slot, without queueing it: the chosen agent
   * is recorded, then the frame is sent (a queued copy of the job leaves the queue). A request for
   * an attempt already placed here gets its agent back and nothing is sent; one whose attempt is
   * being placed from the queue right now (its run is asked to record it) is `queued`, as it was.
   * When `record` throws, the slot is given back and the error passed on.
   */
  async placeHere(request: DispatchRequest, record: RecordAgent): Promise<Placement | undefined> {
    const earlier = this.placedBefore(request);
    if (earlier) return earlier;
    // An agent whose socket closed while its name was being recorded gives way to the next one.
    for (let tries = 0; tries < RESERVE_TRIES; tries++) {
      const held = this.reserve(request);
      if (!held) return undefined;
      try {
        await record(held.agentId);
      } catch (error) {
        this.unreserve(held);
        throw error;
      }
      if (this.send(request, held)) {
        this.takeQueued(request.jobId);
        return { status: 'sent', agentId: held.agentId };
      }
    }
    return undefined;
  }

  /**
   * Where an earlier request for this job went here: `sent` to its holder (or to the agent that
   * served this attempt), `queued` while the same attempt is being placed from the queue. A slot
   * still reserved for an older attempt is given back: its run has moved on and will refuse it.
   */
  placedBefore(request: DispatchRequest): Placement | undefined {
    const holder = this.inflight.get(request.jobId);
    if (holder?.sent) return { status: 'sent', agentId: holder.agentId };
    if (holder?.attempt === request.attempt) return { status: 'queued' };
    if (holder) this.unreserve(holder);
    const served = this.served.get(request.jobId);
    // An adopted job's attempt is unknown: its run, not this memory, tells a re-sent request apart.
    return served?.attempt !== undefined && served.attempt === request.attempt ? { status: 'sent', agentId: served.agentId } : undefined;
  }

  /**
   * Another node's run offers a job to one agent of this node (it recorded that agent first): it
   * is sent there if that agent has a slot and the labels, else refused at once (the offering node
   * chooses again). Never queued.
   */
  placeOn(agentId: string, request: DispatchRequest): { status: 'taken'; agentId: string } | { status: 'refused'; reason: string } {
    const earlier = this.placedBefore(request);
    if (earlier?.status === 'sent') return { status: 'taken', agentId: earlier.agentId };
    if (earlier) return { status: 'refused', reason: 'the job is being placed from this node\'s queue' };
    const agent = this.directory.reserveAgent(agentId, request.runsOn);
    if (!agent) return { status: 'refused', reason: this.directory.get(agentId) ? 'the agent has no free slot for these labels' : 'the agent is not connected here' };
    if (!this.send(request, this.hold(request, agentId))) return { status: 'refused', reason: 'the agent is not connected here' };
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

  /**
   * Try queued jobs again, oldest first (after a register or a freed slot): each job an agent here
   * can take is reserved a slot, its run asked to record the agent, and sent once it has. Resolves
   * when this pass (and any asked for meanwhile) is done.
   */
  drain(): Promise<void> {
    return this.draining.run();
  }

  /** One pass: every queued job an agent here can take leaves the queue and is assigned. */
  private async drainPass(): Promise<void> {
    const assigning: Promise<void>[] = [];
    // Labels no agent here had a free slot for: later jobs asking the same wait without a search.
    const full = new Set<string>();
    for (let i = 0; i < this.pending.length; ) {
      const request = this.pending[i];
      const labels = labelKey(request.runsOn);
      const held = !this.wanted(request) ? null : full.has(labels) ? undefined : this.reserve(request);
      if (held === undefined) {
        full.add(labels);
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      if (held !== null) assigning.push(this.assignQueued(request, held));
    }
    this.reportDepth();
    await Promise.all(assigning);
  }

  /** Send a queued job to its reserved agent once its run has recorded that (with the run's epoch). */
  private async assignQueued(request: DispatchRequest, held: InFlight): Promise<void> {
    let epoch: number | undefined;
    try {
      epoch = await this.ports.assign(request, held.agentId, null);
    } catch {
      // No answer (the run busy or out of reach): the job waits in the queue for the next pass.
      this.unreserve(held);
      this.putBack(request);
      return;
    }
    // Refused (the run placed or ended the job itself, or moved): the next owner dispatches it anew.
    if (epoch === undefined) {
      this.unreserve(held);
      return;
    }
    // A socket closed meanwhile: the run's ack deadline gives the job another attempt.
    this.send({ ...request, frame: { ...request.frame, epoch } }, held);
  }

  /** job.ack, or job.status running, from the agent holding the job: its dispatch is answered. */
  ack(agentId: string, jobId: string): void {
    const job = this.inflight.get(jobId);
    if (!job || job.agentId !== agentId || job.acked) return;
    job.acked = true;
    this.unacked--;
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
    if (job) {
      this.served.delete(jobId);
      this.served.set(jobId, { runId: job.runId, agentId: job.agentId, attempt: job.attempt });
      if (this.served.size > SERVED_REMEMBERED) this.served.delete(this.served.keys().next().value!);
    }
    return job;
  }

  /** The agent here that finished the job (its result may still be on its way to the run). */
  servedBy(jobId: string): { runId: string; agentId: string } | undefined {
    return this.served.get(jobId);
  }

  /** Is the request still this node's to place (see `DispatcherPorts.wanted`)? */
  wanted(request: DispatchRequest): boolean {
    return this.ports.wanted?.(request) ?? true;
  }

  release(jobId: string): InFlight | undefined {
    const job = this.inflight.get(jobId);
    if (!job) return undefined;
    this.inflight.delete(jobId);
    if (!job.acked) this.unacked--;
    this.directory.release(job.agentId);
    this.reportDepth();
    this.ports.released?.(job);
    return job;
  }

  /**
   * Record a job an agent reports as already running (after a reconnect or an orchestrator
   * restart). A job another agent holds stays with it: it was given there while this agent was
   * away, the run knows it there and will stop this agent's stale copy. Returns whether it was adopted.
   */
  adopt(agentId: string, runId: string, jobId: string): boolean {
    const existing = this.inflight.get(jobId);
    if (existing) {
      if (existing.agentId === agentId) this.ports.adopted?.(existing);
      return existing.agentId === agentId;
    }
    const job: InFlight = { runId, jobId, agentId, acked: true, sent: true };
    this.inflight.set(jobId, job);
    this.directory.occupy(agentId);
    this.ports.adopted?.(job);
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

  /** Reserve a slot on an agent here that fits the job, held for it until sent or given back. */
  private reserve(request: DispatchRequest): InFlight | undefined {
    const agent = this.directory.reserve(request.runsOn);
    return agent && this.hold(request, agent.agentId);
  }

  private hold(request: DispatchRequest, agentId: string): InFlight {
    const held: InFlight = { runId: request.runId, jobId: request.jobId, agentId, acked: false, attempt: request.attempt, sent: false };
    const replaced = this.inflight.get(request.jobId);
    if (replaced && !replaced.acked) this.unacked--;
    this.inflight.set(request.jobId, held);
    this.unacked++;
    this.reportDepth();
    return held;
  }

  /** Give back a slot reserved for a job that is not sent after all (unless something else holds the job now). */
  private unreserve(held: InFlight): void {
    if (this.inflight.get(held.jobId) === held) this.release(held.jobId);
  }

  /** Send to an agent whose slot is reserved; the slot is given back when the agent cannot be reached. */
  private send(request: DispatchRequest, held: InFlight): boolean {
    if (this.inflight.get(held.jobId) !== held) return false;
    if (this.ports.sendDispatch(held.agentId, request)) {
      held.sent = true;
      return true;
    }
    this.unreserve(held);
    return false;
  }

  private reportDepth(): void {
    this.ports.queueDepth(this.pending.length, this.unacked);
  }
}

const labelKeys = new WeakMap<object, string>();

/** One key per label requirement, so jobs that ask the same of an agent are judged together (made once per request). */
function labelKey(runsOn: DispatchRequest['runsOn']): string {
  if (runsOn === undefined) return '';
  let key = labelKeys.get(runsOn);
  if (key === undefined) labelKeys.set(runsOn, (key = JSON.stringify(runsOn)));
  return key;
}
