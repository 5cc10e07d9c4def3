/**
 * Dispatch across the mesh. A job goes to an agent of this node when one has a slot; otherwise its
 * run's node offers it to one agent elsewhere, chosen from the slots the other nodes report, and
 * that agent's node answers at once: taken, or refused (the agent filled up meanwhile), and the
 * next agent is asked. One decision at a time: a job is offered to one agent at a time, and a job
 * nobody takes waits in this node's queue until a slot frees here or a report shows one elsewhere.
 */
import type { AgentCommandBody } from '../transport/index.js';
import type { DispatchRequest, InFlight, JobDispatcher, Placement } from './dispatcher.js';
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
  private draining: Promise<void> | undefined;
  private drainAgain = false;
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
    /** A queued job was placed: its run records the agent and arms the ack deadline. */
    private readonly assigned: (job: InFlight, attempt: number) => void,
  ) {}

  /** Join the mesh (a node alone never calls this: it places only on its own agents). */
  connect(port: MeshPort): void {
    this.port = port;
  }

  /** Place a job: an agent here, else an agent elsewhere, else the queue. */
  async dispatch(request: DispatchRequest): Promise<Placement> {
    const there = this.placedElsewhere.get(request.jobId);
    if (there?.attempt === request.attempt) return { status: 'sent', agentId: there.agentId };
    const here = this.dispatcher.placeHere(request);
    if (here) return here;
    // A queued copy (an earlier request for the job) leaves the queue while this one is offered,
    // so nothing here can place it behind the offer's back.
    const wasQueued = this.dispatcher.takeQueued(request.jobId) !== undefined;
    const offered = await this.offerAround(request);
    if (offered) return { status: 'sent', agentId: offered };
    // A slot here may have freed while the offers were out.
    const late = this.dispatcher.placeHere(request);
    if (late) return late;
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
    if (this.draining) {
      this.drainAgain = true;
      return this.draining;
    }
    this.draining = this.drainPasses().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async drainPasses(): Promise<void> {
    do {
      this.drainAgain = false;
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
    } while (this.drainAgain);
  }

  private async offerQueued(request: DispatchRequest): Promise<void> {
    this.offering.add(request.jobId);
    let agentId: string | undefined;
    try {
      agentId = await this.offerAround(request);
    } finally {
      this.offering.delete(request.jobId);
    }
    const withdrawn = this.withdrawn.delete(request.jobId);
    if (agentId && withdrawn) {
      const { runId, jobId, frame } = request;
      this.commandElsewhere({ command: 'cancel', agentId, runId, jobId, reason: 'the run no longer wants this job', force: true, epoch: frame.epoch });
    } else if (agentId) {
      this.assigned({ runId: request.runId, jobId: request.jobId, agentId, acked: false }, request.attempt);
    } else if (!withdrawn) {
      // Nobody took it: back to the head of the queue, and to an agent here if one freed meanwhile.
      this.dispatcher.putBack(request);
      this.dispatcher.drain();
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
  private async offerAround(request: DispatchRequest): Promise<string | undefined> {
    if (!this.port) return undefined;
    for (const candidate of this.remote.candidates(request.runsOn).slice(0, MAX_OFFERS_PER_JOB)) {
      const answer = await this.port.offer(candidate.node, candidate.agentId, request);
      if (answer.status === 'refused') {
        this.remote.full(candidate.node, candidate.agentId);
        continue;
      }
      const agentId = answer.status === 'taken' ? answer.agentId : candidate.agentId;
      this.remote.took(candidate.node, agentId);
      this.remember(request.jobId, agentId, request.attempt);
      return agentId;
    }
    return undefined;
  }
}
