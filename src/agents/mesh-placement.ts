/**
 * Dispatch across the mesh. A job goes to an agent of this node when one has a slot; otherwise its
 * run's node offers it to one agent elsewhere, chosen from the slots the other nodes report, and
 * that agent's node answers at once: taken, or refused (the agent filled up meanwhile), and the
 * next agent is asked. One decision at a time: a job is offered to one agent at a time, and a job
 * nobody takes waits in this node's queue until a slot frees here or a report shows one elsewhere.
 */
import type { AgentCommandBody } from '../transport/index.js';
import type { DispatchRequest, JobDispatcher, Placement, RecordAgent } from './dispatcher.js';
import { CoalescedPasses } from './coalesced-passes.js';
import { RemoteAgents } from './remote-agents.js';

/** What the node holding the agent said; `unanswered`: no word came back, so it may have sent it. */
export type OfferAnswer = { status: 'taken'; agentId: string } | { status: 'refused'; reason: string } | { status: 'unanswered'; reason: string };

/** The mesh, as the agents room needs it (the server wires it to the peer links). */
export interface MeshPort {
  offer(node: string, agentId: string, request: DispatchRequest): Promise<OfferAnswer>;
  /** Fire and forget: to the agent's node, or to every node when it is not known. */
  command(node: string | undefined, command: AgentCommandBody): void;
}

/** Agents asked per job before it waits in the queue: a bound on how long one run waits on offers. */
const MAX_OFFERS_PER_JOB = 3;
/** Jobs remembered as placed elsewhere: enough for any request sent again after a re-activation. */
const PLACED_REMEMBERED = 10_000;

export class MeshPlacement {
  readonly remote = new RemoteAgents();
  private port: MeshPort | undefined;
  private readonly draining = new CoalescedPasses(() => this.drainPass());
  /** Queued jobs out on an offer, and those of them withdrawn meanwhile. */
  private readonly offering = new Set<string>();
  private readonly withdrawn = new Set<string>();
  /**
   * Jobs this node placed on an agent elsewhere, with the attempt: a run re-activated before that
   * agent's word reached it sends the same attempt again, and gets the same agent back.
   */
  private readonly placedElsewhere = new Map<string, { agentId: string; attempt: number }>();

  constructor(
    private readonly dispatcher: JobDispatcher,
    /** A queued job is about to be offered to `agentId` (see `DispatcherPorts.assign`). */
    private readonly assign: (request: DispatchRequest, agentId: string | null, previous: string | null) => Promise<number | undefined>,
  ) {}

  /** Join the mesh (a node alone never calls this: it places only on its own agents). */
  connect(port: MeshPort): void {
    this.port = port;
  }

  /**
   * Place a job: an agent here, else an agent elsewhere, else the queue. Every agent chosen is
   * recorded through `record` before the frame or the offer leaves; a job that ends in the queue
   * after an agent was recorded is recorded as on none again.
   */
  async dispatch(request: DispatchRequest, record: RecordAgent): Promise<Placement> {
    const there = this.placedElsewhere.get(request.jobId);
    if (there?.attempt === request.attempt) return { status: 'sent', agentId: there.agentId };
    const recorded = recordOnce(record);
    const here = await this.dispatcher.placeHere(request, recorded);
    if (here) return here;
    // A queued copy (an earlier request for the job) leaves the queue while this one is offered,
    // so nothing here can place it behind the offer's back.
    const wasQueued = this.dispatcher.takeQueued(request.jobId) !== undefined;
    const offered = await this.offerAround(request, recorded);
    if (offered) return { status: 'sent', agentId: offered };
    // A slot here may have freed while the offers were out.
    const late = await this.dispatcher.placeHere(request, recorded);
    if (late) return late;
    await recorded(null);
    if (wasQueued) this.dispatcher.putBack(request);
    else this.dispatcher.enqueue(request);
    return { status: 'queued' };
  }

  /** A job leaves the queue (its run was cancelled); one out on an offer is stopped if taken. */
  withdraw(jobId: string): boolean {
    if (this.dispatcher.withdraw(jobId)) return true;
    if (!this.offering.has(jobId)) return false;
    this.withdrawn.add(jobId);
    return true;
  }

  /** Another node reported its slots; queued jobs are offered when a slot appeared. */
  slotsReported(node: string, agents: Parameters<RemoteAgents['replace']>[1]): void {
    if (this.remote.replace(node, agents) && this.dispatcher.pendingCount > 0) void this.drainElsewhere();
  }

  /** A node's link went down or it left: its agents are not chosen until it reports again. */
  nodeGone(node: string): void {
    this.remote.forget(node);
  }

  /** Send a command to the node holding `agentId` (every node when no report names it). */
  commandElsewhere(command: AgentCommandBody): boolean {
    if (!this.port) return false;
    this.port.command(this.remote.nodeOf(command.agentId), command);
    return true;
  }

  /**
   * Offer queued jobs elsewhere, oldest first, one at a time. A call during a pass asks for one more
   * pass and resolves with it, so an awaited call has seen everything reported before it.
   */
  drainElsewhere(): Promise<void> {
    return this.draining.run();
  }

  private async drainPass(): Promise<void> {
    for (const queued of this.dispatcher.queued()) {
      // Its run's shard is no longer acted on here: the next owner dispatches it again.
      if (!this.dispatcher.wanted(queued)) {
        this.dispatcher.takeQueued(queued.jobId);
        continue;
      }
      if (this.remote.candidates(queued.runsOn).length === 0) continue;
      const request = this.dispatcher.takeQueued(queued.jobId);
      if (request) await this.offerQueued(request);
    }
  }

  /**
   * Offer a job taken from the queue: its run records each agent before the offer (compare-and-set
   * on what it recorded last, with the run's epoch for the frame). A run that refuses has placed or
   * ended the job itself, or moved: the job is dropped here.
   */
  private async offerQueued(queued: DispatchRequest): Promise<void> {
    const request = { ...queued, frame: { ...queued.frame } };
    let onRecord: string | null = null;
    const record: RecordAgent = async (agentId) => {
      if (agentId === onRecord) return;
      const epoch = await this.assign(request, agentId, onRecord);
      if (epoch === undefined) throw new PlacementRefused();
      onRecord = agentId;
      request.frame.epoch = epoch;
    };
    this.offering.add(request.jobId);
    let agentId: string | undefined;
    try {
      agentId = await this.offerAround(request, record);
      if (!agentId) await record(null);
    } catch (error) {
      if (!(error instanceof PlacementRefused)) throw error;
      this.withdrawn.delete(request.jobId);
      return;
    } finally {
      this.offering.delete(request.jobId);
    }
    const withdrawn = this.withdrawn.delete(request.jobId);
    if (agentId && withdrawn) {
      const { runId, jobId, frame } = request;
      this.commandElsewhere({ command: 'cancel', agentId, runId, jobId, reason: 'the run no longer wants this job', force: true, epoch: frame.epoch });
    } else if (!agentId && !withdrawn) {
      // Nobody took it: back to the head of the queue, and to an agent here if one freed meanwhile.
      this.dispatcher.putBack(queued);
      void this.dispatcher.drain();
    }
  }

  private remember(jobId: string, agentId: string, attempt: number): void {
    this.placedElsewhere.delete(jobId);
    this.placedElsewhere.set(jobId, { agentId, attempt });
    if (this.placedElsewhere.size > PLACED_REMEMBERED) this.placedElsewhere.delete(this.placedElsewhere.keys().next().value!);
  }

  /**
   * Ask agents elsewhere, best first, until one takes the job. A node that did not answer may have
   * sent it: the job counts as given to that agent, and the run's ack deadline decides, as for a
   * frame lost on an agent's own socket.
   */
  private async offerAround(request: DispatchRequest, record: RecordAgent): Promise<string | undefined> {
    if (!this.port) return undefined;
    for (const candidate of this.remote.candidates(request.runsOn).slice(0, MAX_OFFERS_PER_JOB)) {
      await record(candidate.agentId);
      const answer = await this.port.offer(candidate.node, candidate.agentId, request);
      if (answer.status === 'refused') {
        this.remote.full(candidate.node, candidate.agentId);
        continue;
      }
      const agentId = answer.status === 'taken' ? answer.agentId : candidate.agentId;
      // Taken by an earlier request's agent (a re-sent attempt): that is the one on record.
      if (agentId !== candidate.agentId) await record(agentId);
      this.remote.took(candidate.node, agentId);
      this.remember(request.jobId, agentId, request.attempt);
      return agentId;
    }
    return undefined;
  }
}

/** The run refused to record a queued job's placement: it is not this queue's to place any more. */
class PlacementRefused extends Error {
  constructor() {
    super('the run refused the placement');
    this.name = 'PlacementRefused';
  }
}

/** A recorder that writes only changes: the record starts with no agent (the job was queued). */
function recordOnce(record: RecordAgent): RecordAgent {
  let last: string | null = null;
  return async (agentId) => {
    if (agentId === last) return;
    await record(agentId);
    last = agentId;
  };
}
