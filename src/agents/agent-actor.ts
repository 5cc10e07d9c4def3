/**
 * AgentActor: one agent's connection, as a mailbox actor pinned to the node that holds its socket.
 * It owns the current session and the count of refused messages, and handles every frame after
 * registration one at a time, in arrival order.
 */
import type { Actor, ActorFactory } from '../actors/index.js';
import {
  CloseCode,
  isTerminalJobState,
  isTerminalStepState,
  type AgentMessage,
  type AgentRegister,
  type JobStatus,
  type StepResult,
  type StepStatus,
} from '../transport/index.js';
import type { AgentDirectory } from './directory.js';
import type { InFlight, JobDispatcher } from './dispatcher.js';
import type { JobEvents, RefusedClaim } from './job-events.js';
import type { JobMaskers } from './job-maskers.js';
import type { AgentSession, TokenGrant } from './session.js';

export const AGENT_ACTOR_KIND = 'agent';

/** `at` is when the frame reached this node, so queueing in the mailbox does not shift its time. */
export type AgentActorMessage =
  | { type: 'registered'; session: AgentSession; register: AgentRegister; at: number }
  | { type: 'frame'; session: AgentSession; frame: AgentMessage; at: number }
  | { type: 'refused'; claim: RefusedClaim; at: number }
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
  /**
   * The secrets of the jobs this node dispatched, masked again in what agents report about them
   * before it goes anywhere (the run, the step log, log followers): defence in depth against an
   * agent that does not mask (an older build, or one that lies). Absent: reports pass unchanged.
   */
  maskers?: JobMaskers;
  onAgentCountChange?(count: number): void;
  onRegistered?(agentId: string, register: AgentRegister, grant: TokenGrant): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
}

const VIOLATION_LIMIT = 5;
const VIOLATION_WINDOW_MS = 60_000;

export function agentActorFactory(deps: AgentActorDeps): ActorFactory<AgentActorMessage> {
  return (ctx) => new AgentActor(ctx.key, deps);
}

export class AgentActor implements Actor<AgentActorMessage> {
  private session: AgentSession | undefined;
  private violations: number[] = [];

  constructor(
    private readonly agentId: string,
    private readonly d: AgentActorDeps,
  ) {}

  /** A restarted actor picks its live session back up from the node's view. */
  onActivate(): void {
    this.session = this.d.connected.get(this.agentId);
  }

  canPassivate(): boolean {
    return !this.session;
  }

  receive(msg: AgentActorMessage): void {
    switch (msg.type) {
      case 'registered':
        return this.registered(msg.session, msg.register, msg.at);
      case 'frame':
        return this.onFrame(msg.session, msg.frame);
      case 'refused':
        return this.refused(msg.claim, msg.at);
      case 'closed':
        return this.closed(msg.session);
      case 'settled':
        return;
    }
  }

  private registered(session: AgentSession, reg: AgentRegister, at: number): void {
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
    d.directory.upsert({
      agentId,
      node: d.nodeId,
      labels: session.labels,
      maxConcurrency: reg.maxConcurrency,
      version: reg.version,
      hostname: reg.hostname,
      since: this.d.directory.get(agentId)?.since ?? at,
    });
    d.onAgentCountChange?.(d.connected.size);
    if (session.grant) d.onRegistered?.(agentId, reg, session.grant);
    const running = (reg.inFlightJobs ?? []).map((j) => ({ runId: j.runId, jobId: j.jobId }));
    // Slots of jobs this node gave the agent that it no longer reports are free: those jobs went
    // with its previous process. Their runs learn it from agentRegistered, judged on the record.
    const reported = new Set(running.map((j) => j.jobId));
    for (const j of d.dispatcher.jobsOf(agentId)) if (!reported.has(j.jobId)) d.dispatcher.release(j.jobId);
    for (const j of running) d.dispatcher.adopt(agentId, j.runId, j.jobId);
    d.events.agentRegistered(agentId, running, at);
    d.dispatcher.drain();
  }

  /**
   * Job messages go to the job's run, which alone decides whether this agent holds the job. Here
   * only the node's slot bookkeeping moves, and only for a job this node placed on this agent.
   */
  private onFrame(session: AgentSession, msg: AgentMessage): void {
    const { agentId, d } = this;
    switch (msg.type) {
      case 'job.ack':
        d.dispatcher.ack(agentId, msg.jobId);
        return d.events.acked(msg, agentId);
      case 'job.reject':
        if (this.freeSlot(msg.jobId)) d.dispatcher.drain();
        return d.events.rejected(msg, agentId, msg.reason);
      case 'job.status':
        return this.jobStatus(session, msg);
      case 'step.status':
        return this.stepStatus(session, msg);
      case 'log.chunk':
        return d.events.logs(msg, agentId, msg.stepIndex, d.maskers?.maskLines(msg.jobId, msg.lines) ?? msg.lines);
      case 'job.heartbeat':
        return d.events.heartbeat(msg, agentId);
      default:
        // heartbeat, agent.log, config.ack, ack, nack, error: liveness only, which the hub already noted.
        return;
    }
  }

  private jobStatus(session: AgentSession, msg: JobStatus): void {
    const { agentId, d } = this;
    const job = { runId: msg.runId, jobId: msg.jobId };
    if (msg.state === 'running') {
      d.dispatcher.ack(agentId, msg.jobId);
      return d.events.started(job, agentId);
    }
    if (!isTerminalJobState(msg.state)) return;
    // The slot frees at once, so the agent can take more work while the store catches up.
    if (this.freeSlot(msg.jobId, true)) d.dispatcher.drain();
    // Its error text is stored with the job: masked like its log lines.
    const status = maskedReport(d.maskers, msg);
    // Not awaited: the mailbox moves on while the store catches up; the ack follows durability.
    d.events.finished(job, agentId, status).then(
      () => session.send({ type: 'ack', messageId: msg.messageId }),
      (e: Error) => d.warn?.('job status not recorded; the agent will resend it', { jobId: msg.jobId, error: e.message }),
    );
  }

  private stepStatus(session: AgentSession, msg: StepStatus): void {
    const { agentId, d } = this;
    const job = { runId: msg.runId, jobId: msg.jobId };
    const persisted = d.events.step(job, agentId, maskedReport(d.maskers, msg));
    if (!isTerminalStepState(msg.state)) return void persisted.catch(() => {});
    persisted.then(
      () => session.send({ type: 'ack', messageId: msg.messageId }),
      (e: Error) => d.warn?.('step status not recorded; the agent will resend it', { jobId: msg.jobId, error: e.message }),
    );
  }

  /**
   * Only the holder's own report frees its slot: another agent's claim must not take a live job
   * away. A job it finished is remembered as served; one it refused is free to be placed again.
   */
  private freeSlot(jobId: string, finished = false): boolean {
    if (this.d.dispatcher.holder(jobId)?.agentId !== this.agentId) return false;
    return (finished ? this.d.dispatcher.finished(jobId) : this.d.dispatcher.release(jobId)) !== undefined;
  }

  /** The run refused a message of this agent's: log it, and disconnect an agent that keeps doing it. */
  private refused(claim: RefusedClaim, at: number): void {
    const session = this.session;
    this.d.warn?.('agent message about a job it does not hold refused; job.cancel sent', {
      agentId: this.agentId,
      address: session?.remoteAddress,
      runId: claim.runId,
      jobId: claim.jobId,
      message: claim.message,
      reason: claim.reason,
    });
    if (!session) return;
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
}

/** A status report's error, and a job's outputs and step results, masked with its job's secrets (as its log lines are). */
function maskedReport<M extends { jobId: string; error?: string; data?: { outputs: Record<string, string>; stepResults: StepResult[] } }>(maskers: JobMaskers | undefined, msg: M): M {
  if (!maskers) return msg;
  const mask = (text: string) => maskers.mask(msg.jobId, text);
  const outputs = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([key, value]) => [key, mask(value)]));
  const data = msg.data && {
    outputs: outputs(msg.data.outputs),
    stepResults: msg.data.stepResults.map((r) => ({ ...r, ...(r.outputs && { outputs: outputs(r.outputs) }), ...(r.error !== undefined && { error: mask(r.error) }) })),
  };
  return { ...msg, ...(msg.error !== undefined && { error: mask(msg.error) }), ...(data && { data }) };
}
