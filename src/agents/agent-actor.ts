/**
 * AgentActor: one agent's connection, as a mailbox actor pinned to the node that holds its socket.
 * It owns the current session, the ownership-violation count and the jobs the agent recently
 * finished, and handles every frame after registration one at a time, in arrival order.
 */
import type { Actor, ActorFactory } from '../actors/index.js';
import type { Clock } from '../clock/index.js';
import {
  CloseCode,
  isTerminalJobState,
  isTerminalStepState,
  type AgentMessage,
  type AgentRegister,
  type JobStatus,
  type StepStatus,
} from '../transport/index.js';
import type { AgentDirectory } from './directory.js';
import type { InFlight, JobDispatcher } from './dispatcher.js';
import type { JobEvents } from './job-events.js';
import type { AgentSession, TokenGrant } from './session.js';

export const AGENT_ACTOR_KIND = 'agent';

/** `at` is when the frame reached this node, so queueing in the mailbox does not shift its time. */
export type AgentActorMessage =
  | { type: 'registered'; session: AgentSession; register: AgentRegister; at: number }
  | { type: 'frame'; session: AgentSession; frame: AgentMessage; at: number }
  | { type: 'closed'; session: AgentSession }
  | { type: 'settled' };

/** The node-level things an agent's actor works with (all owned by the hub). */
export interface AgentActorDeps {
  nodeId: string;
  directory: AgentDirectory;
  dispatcher: JobDispatcher;
  events: JobEvents;
  /**
   * The node's view of the current session per agent, written only by the agents' actors and read
   * by the hub's synchronous paths (dispatch, cancel, close).
   */
  connected: Map<string, AgentSession>;
  onAgentCountChange?(count: number): void;
  onRegistered?(agentId: string, register: AgentRegister, grant: TokenGrant): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
}

// Late messages for a finished job are expected: log flushes, and an agent's outage buffer replays
// after its final statuses (paced, so a full buffer takes about a minute). Keep the owner a while.
const FINISHED_GRACE_MS = 5 * 60_000;
const VIOLATION_LIMIT = 5;
const VIOLATION_WINDOW_MS = 60_000;

export function agentActorFactory(deps: AgentActorDeps): ActorFactory<AgentActorMessage> {
  return (ctx) => new AgentActor(ctx.key, deps, ctx.clock);
}

export class AgentActor implements Actor<AgentActorMessage> {
  private session: AgentSession | undefined;
  private violations: number[] = [];
  /** Job id → when this agent's final status for it arrived. */
  private readonly recentlyFinished = new Map<string, number>();

  constructor(
    private readonly agentId: string,
    private readonly d: AgentActorDeps,
    private readonly clock: Clock,
  ) {}

  /** A restarted actor picks its live session back up from the node's view. */
  onActivate(): void {
    this.session = this.d.connected.get(this.agentId);
  }

  canPassivate(): boolean {
    this.forgetExpired(this.clock.now());
    return !this.session && this.recentlyFinished.size === 0;
  }

  receive(msg: AgentActorMessage): void {
    switch (msg.type) {
      case 'registered':
        return this.registered(msg.session, msg.register);
      case 'frame':
        return this.onFrame(msg.session, msg.frame, msg.at);
      case 'closed':
        return this.closed(msg.session);
      case 'settled':
        return;
    }
  }

  private registered(session: AgentSession, reg: AgentRegister): void {
    const { agentId, d } = this;
    const previous = this.session;
    if (previous && previous !== session) {
      // The same agent on a new connection: the old socket is stale (half-open); drop it quietly.
      this.session = undefined;
      d.connected.delete(agentId);
      previous.close(CloseCode.goingAway, 'replaced by a newer connection');
    }
    this.session = session;
    d.connected.set(agentId, session);
    d.directory.upsert({ agentId, node: d.nodeId, labels: session.labels, maxConcurrency: reg.maxConcurrency });
    d.onAgentCountChange?.(d.connected.size);
    if (session.grant) d.onRegistered?.(agentId, reg, session.grant);
    const back = (reg.inFlightJobs ?? []).map((j) => ({ runId: j.runId, jobId: j.jobId }));
    // Jobs this node gave the agent that it no longer reports are gone with its previous process
    // (its outbox would list them otherwise): they are lost, like those of a closed connection.
    const reported = new Set(back.map((j) => j.jobId));
    const forgotten = d.dispatcher.jobsOf(agentId).filter((j) => !reported.has(j.jobId));
    this.release(forgotten);
    for (const j of back) d.dispatcher.adopt(agentId, j.runId, j.jobId);
    if (back.length > 0) d.events.agentBack(agentId, back);
    d.dispatcher.drain();
  }

  private onFrame(session: AgentSession, msg: AgentMessage, at: number): void {
    const { agentId, d } = this;
    switch (msg.type) {
      case 'job.ack':
        if (this.owns(msg.jobId, at)) d.dispatcher.ack(agentId, msg.jobId);
        return;
      case 'job.reject': {
        const job = d.dispatcher.holder(msg.jobId);
        if (!job || job.agentId !== agentId) return this.violation(session, at);
        d.dispatcher.release(msg.jobId);
        d.events.rejected(job, agentId, msg.reason);
        d.dispatcher.drain();
        return;
      }
      case 'job.status':
        return this.jobStatus(session, msg, at);
      case 'step.status':
        return this.stepStatus(session, msg);
      case 'log.chunk':
        // Logs for a job this node no longer tracks are dropped quietly: replays after an outage
        // legitimately outlive the grace window, so they are not counted as violations.
        if (this.owns(msg.jobId, at)) d.events.logs(msg, msg.stepIndex, msg.lines);
        return;
      case 'job.heartbeat':
        if (this.owns(msg.jobId, at)) d.events.heartbeat(msg, agentId);
        return;
      default:
        // heartbeat, agent.log, ack, nack, error: liveness only, which the hub already noted.
        return;
    }
  }

  private jobStatus(session: AgentSession, msg: JobStatus, at: number): void {
    const { agentId, d } = this;
    const job = { runId: msg.runId, jobId: msg.jobId };
    if (msg.state === 'running') {
      if (!this.owns(msg.jobId, at)) return this.violation(session, at);
      d.dispatcher.ack(agentId, msg.jobId);
      d.events.started(job, agentId);
      return;
    }
    if (!isTerminalJobState(msg.state)) return;
    // A terminal status may come from the outbox after a restart, when this node no longer
    // remembers the job; the run decides whether the agent really held it. Only the holder's own
    // report frees the slot: another agent's claim must not take a live job away from its holder.
    if (d.dispatcher.holder(msg.jobId)?.agentId === agentId && d.dispatcher.release(msg.jobId)) {
      this.recentlyFinished.set(msg.jobId, at);
      d.dispatcher.drain();
    }
    // Not awaited: the mailbox moves on while the store catches up; the ack follows durability.
    d.events.finished(job, agentId, msg).then(
      () => session.send({ type: 'ack', messageId: msg.messageId }),
      (e: Error) => d.warn?.('job status not recorded; the agent will resend it', { jobId: msg.jobId, error: e.message }),
    );
  }

  private stepStatus(session: AgentSession, msg: StepStatus): void {
    const { agentId, d } = this;
    const job = { runId: msg.runId, jobId: msg.jobId };
    const persisted = d.events.step(job, agentId, msg);
    if (!isTerminalStepState(msg.state)) return void persisted.catch(() => {});
    persisted.then(
      () => session.send({ type: 'ack', messageId: msg.messageId }),
      (e: Error) => d.warn?.('step status not recorded; the agent will resend it', { jobId: msg.jobId, error: e.message }),
    );
  }

  /** The agent holds the job, or finished it within the grace window. */
  private owns(jobId: string, at: number): boolean {
    const holder = this.d.dispatcher.holder(jobId);
    if (holder) return holder.agentId === this.agentId;
    const finishedAt = this.recentlyFinished.get(jobId);
    if (finishedAt === undefined) return false;
    if (at - finishedAt > FINISHED_GRACE_MS) {
      this.recentlyFinished.delete(jobId);
      return false;
    }
    return true;
  }

  /** Foreign job messages are dropped; an agent that keeps sending them is disconnected. */
  private violation(session: AgentSession, at: number): void {
    this.violations = this.violations.filter((t) => at - t < VIOLATION_WINDOW_MS);
    this.violations.push(at);
    if (this.violations.length >= VIOLATION_LIMIT) {
      this.violations = [];
      session.close(CloseCode.invalidMessage, 'repeated messages about jobs this agent does not hold');
    }
  }

  private closed(session: AgentSession): void {
    const { agentId, d } = this;
    // A replaced session's late close changes nothing: the newer one speaks for the agent.
    if (this.session !== session) return;
    this.session = undefined;
    d.connected.delete(agentId);
    d.directory.remove(agentId);
    d.onAgentCountChange?.(d.connected.size);
    this.release(d.dispatcher.jobsOf(agentId));
  }

  /** Free the slots of jobs gone with the agent's connection or process, and tell their runs. */
  private release(jobs: InFlight[]): void {
    for (const j of jobs) this.d.dispatcher.release(j.jobId);
    if (jobs.length > 0) this.d.events.agentLost(this.agentId, jobs.map((j) => ({ runId: j.runId, jobId: j.jobId, acked: j.acked })));
  }

  private forgetExpired(now: number): void {
    for (const [jobId, at] of this.recentlyFinished) if (now - at > FINISHED_GRACE_MS) this.recentlyFinished.delete(jobId);
  }
}
