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
import { AgentDirectory } from './directory.js';
import { JobDispatcher, type DispatchRequest, type InFlight } from './dispatcher.js';
import type { FrameLimits } from './frame-budget.js';
import { AgentSession, type AgentSocket, type TokenGrant } from './session.js';

export interface JobRef {
  runId: string;
  jobId: string;
}

/** Where the hub reports what agents say about jobs; the composition root routes these to RunActors. */
export interface JobEvents {
  acked(job: JobRef, agentId: string): void;
  rejected(job: JobRef, agentId: string, reason: string): void;
  ackTimedOut(job: JobRef, agentId: string): void;
  started(job: JobRef, agentId: string): void;
  /** Resolves once the step's state is durable; only then is the agent's outbox entry acked. */
  step(job: JobRef, agentId: string, status: StepStatus): Promise<void>;
  /** Resolves once the job's final state is durable. */
  finished(job: JobRef, agentId: string, status: JobStatus): Promise<void>;
  heartbeat(job: JobRef, agentId: string): void;
  /** The agent's connection is gone with these jobs on it. */
  agentLost(agentId: string, jobs: (JobRef & { acked: boolean })[]): void;
  /** The agent came back (or, after a restart, showed up) reporting these jobs as still running. */
  agentBack(agentId: string, jobs: JobRef[]): void;
  logs(job: JobRef, stepIndex: number, lines: string[]): void;
}

export interface HubOptions {
  nodeId: string;
  clock: Clock;
  ackTimeoutMs: number;
  heartbeatTimeoutMs: number;
  validateToken(token: string): Promise<TokenGrant | null>;
  events: JobEvents;
  onAgentCountChange?(count: number): void;
  onQueueDepth?(pending: number, dispatched: number): void;
  onJobDispatched?(): void;
  onRegistered?(agentId: string, register: AgentRegister, grant: TokenGrant): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  /** Per-connection frame limits; KiCI's (AGENT_FRAME_LIMITS) when absent. */
  frameLimits?: FrameLimits;
}

// Late messages for a finished job are expected: log flushes, and an agent's outage buffer replays
// after its final statuses (paced, so a full buffer takes about a minute). Keep the owner a while.
const FINISHED_GRACE_MS = 5 * 60_000;
const VIOLATION_LIMIT = 5;
const VIOLATION_WINDOW_MS = 60_000;

/**
 * The node-local side of every agent connection: sessions by agent id, the agent directory, the
 * dispatcher, and the routing of agent frames to the jobs they concern. One registered session per
 * agent id; a newer connection replaces an older one, and the older one's late close changes nothing.
 */
export class AgentHub {
  readonly directory = new AgentDirectory();
  readonly dispatcher: JobDispatcher;
  private readonly sessions = new Map<string, AgentSession>();
  private readonly lastSeen = new Map<AgentSession, number>();
  private readonly recentlyFinished = new Map<string, { agentId: string; at: number }>();
  private readonly violations = new Map<string, number[]>();
  private readonly stopHeartbeatCheck: () => void;

  constructor(private readonly o: HubOptions) {
    this.dispatcher = new JobDispatcher(this.directory, o.clock, o.ackTimeoutMs, {
      sendDispatch: (agentId, request) => this.sendDispatch(agentId, request),
      acked: (job) => o.events.acked(job, job.agentId),
      ackTimedOut: (job) => this.ackTimedOut(job),
      queueDepth: (pending, dispatched) => o.onQueueDepth?.(pending, dispatched),
    });
    this.stopHeartbeatCheck = this.scheduleHeartbeatCheck();
  }

  /** A new WebSocket connection on /ws. */
  attach(socket: AgentSocket): AgentSession {
    const session = new AgentSession(socket, {
      validateToken: (t) => this.o.validateToken(t),
      onRegistered: (s, reg) => this.registered(s, reg),
      onMessage: (s, msg) => this.onMessage(s, msg),
      onClosed: (s) => this.closed(s),
    }, this.o.clock, { frameLimits: this.o.frameLimits });
    this.lastSeen.set(session, this.o.clock.now());
    return session;
  }

  dispatch(request: DispatchRequest): { status: 'sent'; agentId: string } | { status: 'queued' } {
    return this.dispatcher.dispatch(request);
  }

  /** The run saw no ack in time for a job it placed: close the silent agent so it is not picked again. */
  closeSilentAgent(agentId: string, jobId: string): void {
    const holder = this.dispatcher.holder(jobId);
    if (holder && holder.agentId === agentId) this.dispatcher.release(jobId);
    this.sessions.get(agentId)?.close(CloseCode.dispatchAckTimeout, `job ${jobId} was not acknowledged in time`);
  }

  /** Ask the agent holding a job to stop it; a job still queued is simply withdrawn. */
  cancel(job: JobRef, reason: string, force: boolean, epoch: number, agentId?: string): 'withdrawn' | 'sent' | 'unknown' {
    const frame = { type: 'job.cancel' as const, runId: job.runId, jobId: job.jobId, reason, force, epoch };
    const holder = this.dispatcher.holder(job.jobId);
    // Naming an agent that is not the holder stops only that agent's stale copy (the job was given
    // elsewhere while it was away); the holder and the queue are left alone.
    if (agentId !== undefined && holder?.agentId !== agentId) {
      const stale = this.sessions.get(agentId);
      if (!stale) return 'unknown';
      stale.send(frame);
      return 'sent';
    }
    if (this.dispatcher.withdraw(job.jobId)) return 'withdrawn';
    const session = holder && this.sessions.get(holder.agentId);
    if (!session) return 'unknown';
    session.send(frame);
    return 'sent';
  }

  /** Close every live session that authenticated with a revoked token, registered or not yet. */
  revokeToken(tokenId: string): number {
    let closed = 0;
    // lastSeen holds every open session, including one between auth.success and agent.register
    // that would otherwise go on to register with the dead token.
    for (const s of [...this.lastSeen.keys()]) {
      if (s.grant?.tokenId !== tokenId) continue;
      s.send({ type: 'auth.failure', reason: 'Token revoked' });
      s.close(CloseCode.agentAuthFailed, 'token revoked');
      closed++;
    }
    return closed;
  }

  isConnected(agentId: string): boolean {
    return this.sessions.has(agentId);
  }

  connectedAgents(): string[] {
    return [...this.sessions.keys()];
  }

  stop(): void {
    this.stopHeartbeatCheck();
    this.dispatcher.stop();
    for (const s of [...this.sessions.values()]) s.close(CloseCode.goingAway, 'orchestrator shutting down');
  }

  private registered(session: AgentSession, reg: AgentRegister): void {
    const agentId = reg.agentId;
    const previous = this.sessions.get(agentId);
    if (previous && previous !== session) {
      // The same agent on a new connection: the old socket is stale (half-open); drop it quietly.
      this.sessions.delete(agentId);
      previous.close(CloseCode.goingAway, 'replaced by a newer connection');
    }
    this.sessions.set(agentId, session);
    this.directory.upsert({ agentId, node: this.o.nodeId, labels: session.labels, maxConcurrency: reg.maxConcurrency });
    this.o.onAgentCountChange?.(this.sessions.size);
    if (session.grant) this.o.onRegistered?.(agentId, reg, session.grant);
    const back = (reg.inFlightJobs ?? []).map((j) => ({ runId: j.runId, jobId: j.jobId }));
    // Jobs this node gave the agent that it no longer reports are gone with its previous process
    // (its outbox would list them otherwise): they are lost, like those of a closed connection.
    const reported = new Set(back.map((j) => j.jobId));
    const forgotten = this.dispatcher.jobsOf(agentId).filter((j) => !reported.has(j.jobId));
    for (const j of forgotten) this.dispatcher.release(j.jobId);
    if (forgotten.length > 0) this.o.events.agentLost(agentId, forgotten.map((j) => ({ runId: j.runId, jobId: j.jobId, acked: j.acked })));
    for (const j of back) this.dispatcher.adopt(agentId, j.runId, j.jobId);
    if (back.length > 0) this.o.events.agentBack(agentId, back);
    this.lastSeen.set(session, this.o.clock.now());
    this.dispatcher.drain();
  }

  private onMessage(session: AgentSession, msg: AgentMessage): void {
    const agentId = session.agentId!;
    this.lastSeen.set(session, this.o.clock.now());
    switch (msg.type) {
      case 'heartbeat':
      case 'agent.log':
      case 'ack':
      case 'nack':
      case 'error':
        return;
      case 'job.ack':
        if (this.owns(agentId, msg.jobId)) this.dispatcher.ack(agentId, msg.jobId);
        return;
      case 'job.reject': {
        const job = this.dispatcher.holder(msg.jobId);
        if (!job || job.agentId !== agentId) return this.violation(session);
        this.dispatcher.release(msg.jobId);
        this.o.events.rejected(job, agentId, msg.reason);
        this.dispatcher.drain();
        return;
      }
      case 'job.status':
        return this.jobStatus(session, msg);
      case 'step.status':
        return this.stepStatus(session, msg);
      case 'log.chunk':
        // Logs for a job this node no longer tracks are dropped quietly: replays after an outage
        // legitimately outlive the grace window, so they are not counted as violations.
        if (!this.owns(agentId, msg.jobId)) return;
        this.o.events.logs(msg, msg.stepIndex, msg.lines);
        return;
      case 'job.heartbeat':
        if (this.owns(agentId, msg.jobId)) this.o.events.heartbeat(msg, agentId);
        return;
      default:
        return;
    }
  }

  private jobStatus(session: AgentSession, msg: JobStatus): void {
    const agentId = session.agentId!;
    const job = { runId: msg.runId, jobId: msg.jobId };
    if (msg.state === 'running') {
      if (!this.owns(agentId, msg.jobId)) return this.violation(session);
      this.dispatcher.ack(agentId, msg.jobId);
      this.o.events.started(job, agentId);
      return;
    }
    if (!isTerminalJobState(msg.state)) return;
    // A terminal status may come from the outbox after a restart, when this node no longer
    // remembers the job; the run decides whether the agent really held it. Only the holder's own
    // report frees the slot: another agent's claim must not take a live job away from its holder.
    if (this.dispatcher.holder(msg.jobId)?.agentId === agentId && this.dispatcher.release(msg.jobId)) {
      this.recentlyFinished.set(msg.jobId, { agentId, at: this.o.clock.now() });
      this.dispatcher.drain();
    }
    this.o.events.finished(job, agentId, msg).then(
      () => session.send({ type: 'ack', messageId: msg.messageId }),
      (e: Error) => this.o.warn?.('job status not recorded; the agent will resend it', { jobId: msg.jobId, error: e.message }),
    );
  }

  private stepStatus(session: AgentSession, msg: StepStatus): void {
    const agentId = session.agentId!;
    const job = { runId: msg.runId, jobId: msg.jobId };
    const persisted = this.o.events.step(job, agentId, msg);
    if (!isTerminalStepState(msg.state)) return void persisted.catch(() => {});
    persisted.then(
      () => session.send({ type: 'ack', messageId: msg.messageId }),
      (e: Error) => this.o.warn?.('step status not recorded; the agent will resend it', { jobId: msg.jobId, error: e.message }),
    );
  }

  private owns(agentId: string, jobId: string): boolean {
    const holder = this.dispatcher.holder(jobId);
    if (holder) return holder.agentId === agentId;
    const recent = this.recentlyFinished.get(jobId);
    if (!recent) return false;
    if (this.o.clock.now() - recent.at > FINISHED_GRACE_MS) {
      this.recentlyFinished.delete(jobId);
      return false;
    }
    return recent.agentId === agentId;
  }

  /** Foreign job messages are dropped; an agent that keeps sending them is disconnected. */
  private violation(session: AgentSession): void {
    const agentId = session.agentId!;
    const now = this.o.clock.now();
    const recent = (this.violations.get(agentId) ?? []).filter((t) => now - t < VIOLATION_WINDOW_MS);
    recent.push(now);
    this.violations.set(agentId, recent);
    if (recent.length >= VIOLATION_LIMIT) {
      this.violations.delete(agentId);
      session.close(CloseCode.invalidMessage, 'repeated messages about jobs this agent does not hold');
    }
  }

  private sendDispatch(agentId: string, request: DispatchRequest): boolean {
    const session = this.sessions.get(agentId);
    if (!session || session.closed) return false;
    session.send({ type: 'job.dispatch', ...request.frame });
    this.o.onJobDispatched?.();
    return true;
  }

  /** Close and unregister before the job is offered again, so the silent agent cannot be picked. */
  private ackTimedOut(job: InFlight): void {
    const session = this.sessions.get(job.agentId);
    session?.close(CloseCode.dispatchAckTimeout, `job ${job.jobId} was not acknowledged in time`);
    this.o.events.ackTimedOut(job, job.agentId);
  }

  private closed(session: AgentSession): void {
    this.lastSeen.delete(session);
    const agentId = session.agentId;
    if (!agentId || this.sessions.get(agentId) !== session) return;
    this.sessions.delete(agentId);
    this.directory.remove(agentId);
    this.o.onAgentCountChange?.(this.sessions.size);
    const jobs = this.dispatcher.jobsOf(agentId);
    for (const j of jobs) this.dispatcher.release(j.jobId);
    if (jobs.length > 0) this.o.events.agentLost(agentId, jobs.map((j) => ({ runId: j.runId, jobId: j.jobId, acked: j.acked })));
  }

  private scheduleHeartbeatCheck(): () => void {
    let cancel = () => {};
    const every = Math.max(100, Math.min(30_000, Math.floor(this.o.heartbeatTimeoutMs / 3)));
    const loop = () => {
      cancel = this.o.clock.setTimer(every, () => {
        const now = this.o.clock.now();
        for (const [session, seen] of this.lastSeen) {
          if (now - seen > this.o.heartbeatTimeoutMs) session.close(CloseCode.heartbeatTimeout, 'no heartbeat');
        }
        for (const [jobId, f] of this.recentlyFinished) if (now - f.at > FINISHED_GRACE_MS) this.recentlyFinished.delete(jobId);
        loop();
      });
    };
    loop();
    return () => cancel();
  }
}
