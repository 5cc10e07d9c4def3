import { ActorSystem, type ActorRef } from '../actors/index.js';
import type { Clock } from '../clock/index.js';
import { CloseCode, type AgentCommandBody, type AgentMessage, type AgentRegister, type JobOfferBody, type JobOfferAnswer } from '../transport/index.js';
import type { UnansweredDispatch } from '../vocabulary/index.js';
import type { LabelMatcher } from '../workflows/index.js';
import { AGENT_ACTOR_KIND, agentActorFactory, type AgentActorMessage } from './agent-actor.js';
import { AgentDirectory } from './directory.js';
import { JobDispatcher, type DispatchRequest, type Placement, type RecordAgent } from './dispatcher.js';
import { MeshPlacement } from './mesh-placement.js';
import type { RemoteAgent } from './remote-agents.js';
import type { FrameLimits } from './frame-budget.js';
import type { JobEvents, JobRef, RefusedClaim } from './job-events.js';
import { JobMaskers } from './job-maskers.js';
import { AgentSession, type AgentSocket, type TokenGrant } from './session.js';

export interface HubOptions {
  nodeId: string;
  clock: Clock;
  heartbeatTimeoutMs: number;
  validateToken(token: string): Promise<TokenGrant | null>;
  events: JobEvents;
  onAgentCountChange?(count: number): void;
  onQueueDepth?(pending: number, dispatched: number): void;
  onJobDispatched?(): void;
  onRegistered?(agentId: string, register: AgentRegister, grant: TokenGrant): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  /** A failed agent token check from `address`; says whether the address is past its failure limit. */
  authFailed?(address: string): { limited: boolean };
  /**
   * Per-connection frame limits until agent.register, and the floor of the ones scaled by the slots
   * it declares (limitsForSlots); KiCI's (AGENT_FRAME_LIMITS) when absent.
   */
  frameLimits?: FrameLimits;
  /** The node's actor system, where each agent's AgentActor lives; a private one when absent. */
  system?: ActorSystem;
  /** Does this node still act for the job's run? Queued jobs of runs it no longer owns are dropped. */
  wanted?(request: DispatchRequest): boolean;
}

// Long enough never to cut a flush short; a flush only waits for frames already in mailboxes.
const SETTLE_ASK_MS = 60_000;

/**
 * Run `fn` one turn of the event loop later. After a stall of this node's event loop, timers run
 * before the sockets are read, so a deadline fires while the frames that would have met it sit
 * unread; a zero-delay timer runs only after the poll phase has read them. Through the clock, so
 * the simulator and the tests order it like any timer.
 */
const nextTurn = (clock: Clock, fn: () => void): void => void clock.setTimer(0, fn);

/**
 * The node's door for agent connections: it attaches sockets, keeps the agent directory and the
 * dispatcher, sends dispatches and cancels through each agent's current session, and hands every
 * session event to that agent's AgentActor, which decides what the agent's frames mean.
 */
export class AgentHub {
  readonly directory = new AgentDirectory();
  readonly dispatcher: JobDispatcher;
  /** Dispatch beyond this node: jobs offered to agents other nodes hold. */
  readonly placement: MeshPlacement;
  /** Current session per agent id, as the agents' actors publish it. */
  private readonly sessions = new Map<string, AgentSession>();
  private readonly lastSeen = new Map<AgentSession, number>();
  /** Jobs whose ack deadline passed, per session, until their 4031 is confirmed a turn later. */
  private readonly overdue = new Map<AgentSession, Set<string>>();
  private readonly system: ActorSystem;
  private readonly ownsSystem: boolean;
  /** Agents told something since the last flush. */
  private readonly told = new Set<string>();
  /**
   * The secrets of the jobs dispatched to this node's agents, to mask what the agents report
   * about them once more on receipt (memory only, dropped a while after each job's slot frees).
   */
  private readonly maskers: JobMaskers;
  private readonly stopHeartbeatCheck: () => void;

  constructor(private readonly o: HubOptions) {
    // A queued job about to be placed, here or elsewhere, is recorded by its run first.
    const assign = (request: DispatchRequest, agentId: string | null, previous: string | null) => o.events.assign(request, request.attempt, agentId, previous);
    const maskers = (this.maskers = new JobMaskers(o.clock));
    this.dispatcher = new JobDispatcher(this.directory, {
      sendDispatch: (agentId, request) => this.sendDispatch(agentId, request),
      assign,
      queueDepth: (pending, dispatched) => o.onQueueDepth?.(pending, dispatched),
      wanted: o.wanted,
      released: (job) => maskers.ended(job.jobId),
      adopted: (job) => maskers.resumed(job.jobId),
    });
    this.placement = new MeshPlacement(this.dispatcher, assign);
    this.ownsSystem = !o.system;
    this.system = o.system ?? new ActorSystem({
      nodeId: o.nodeId,
      clock: o.clock,
      onError: (f) => o.warn?.('agent actor failed', { agentId: f.key, phase: f.phase, error: (f.error as Error)?.message }),
    });
    this.system.register(AGENT_ACTOR_KIND, agentActorFactory({
      nodeId: o.nodeId,
      directory: this.directory,
      dispatcher: this.dispatcher,
      events: o.events,
      connected: this.sessions,
      maskers,
      onAgentCountChange: o.onAgentCountChange,
      onRegistered: o.onRegistered,
      warn: o.warn,
    }), { placement: 'node' });
    this.stopHeartbeatCheck = this.scheduleHeartbeatCheck();
  }

  /** A new WebSocket connection on /ws. */
  attach(socket: AgentSocket): AgentSession {
    const session = new AgentSession(socket, {
      validateToken: (t) => this.o.validateToken(t),
      onRegistered: (s, reg) => this.registered(s, reg),
      onMessage: (s, frame) => this.tellFrame(s, frame),
      onClosed: (s) => this.closed(s),
      onAlive: (s) => this.heard(s),
      authFailed: (address) => this.o.authFailed?.(address) ?? { limited: false },
      warn: (message, fields) => this.o.warn?.(message, fields),
    }, this.o.clock, { frameLimits: this.o.frameLimits });
    this.lastSeen.set(session, this.o.clock.now());
    return session;
  }

  /**
   * Place a job anywhere in the mesh: an agent here, else one another node holds, else the queue;
   * each agent chosen is recorded through `record` before the frame leaves.
   */
  place(request: DispatchRequest, record: RecordAgent): Promise<Placement> {
    return this.placement.dispatch(request, record);
  }

  /** Another node's run offers a job to an agent of this node: taken or refused, at once. */
  offered(offer: JobOfferBody): JobOfferAnswer {
    const { agentId, ...request } = offer;
    return this.dispatcher.placeOn(agentId, request as DispatchRequest);
  }

  /** Take a job back from the queue (or from an offer still out); false when it is placed or unknown. */
  withdraw(jobId: string): boolean {
    return this.placement.withdraw(jobId);
  }

  /** A command from another node about an agent whose socket this node may hold. */
  commanded(c: AgentCommandBody): boolean {
    if (!this.sessions.has(c.agentId)) return false;
    if (c.command === 'cancel') this.cancel({ runId: c.runId, jobId: c.jobId }, c.reason, c.force, c.epoch, c.agentId);
    else if (c.command === 'close_silent') this.judgeSilence(c.agentId, c.jobId, { ownerWaits: true });
    else this.refusedClaim({ runId: c.runId, jobId: c.jobId, agentId: c.agentId, message: c.message, reason: c.reason });
    return true;
  }

  /**
   * The run saw no ack in time for a job it placed: close the silent agent (4031) so it is not
   * picked again, and say what was found (see `UnansweredDispatch` in the vocabulary). An agent whose
   * socket is elsewhere is judged by the node that holds it (told by `close_silent`), and the run
   * waits for that node's word.
   */
  closeSilentAgent(agentId: string, jobId: string): UnansweredDispatch | Promise<UnansweredDispatch> {
    if (!this.sessions.has(agentId) && this.placement.commandElsewhere({ command: 'close_silent', agentId, jobId })) return 'asked';
    return this.judgeSilence(agentId, jobId, { ownerWaits: false });
  }

  /**
   * An agent of this node that did acknowledge the job (the deadline was the owner's, the ack slow
   * to reach it), or even finished it, keeps the job and its slot, and its ack is told to the run
   * again, in case the first was lost on the way. Otherwise the verdict waits one turn: after a
   * stall of this node the ack may be sitting unread in the socket when the deadline fires, and a
   * healthy agent must not be closed for this node's own delay. An agent that answered about the job
   * meanwhile keeps it (`acked`: its word is on its way to the run, which must not place the job
   * again); one that did not is closed (`closed`). The job's slot frees with the close when its run
   * places it again right after (its owner is this node); when the owner waits for this node's
   * word, the job stays with the agent until the close, which reports it lost to its run like any
   * job of a closed agent.
   */
  private judgeSilence(agentId: string, jobId: string, { ownerWaits }: { ownerWaits: boolean }): UnansweredDispatch | Promise<UnansweredDispatch> {
    const session = this.sessions.get(agentId);
    const holder = this.dispatcher.holder(jobId);
    const held = holder?.agentId === agentId;
    // It took the job (and may have finished it, its result still on the way): not silent.
    const taken = held && holder.acked ? holder : this.dispatcher.servedBy(jobId);
    if (taken?.agentId === agentId) {
      this.o.events.acked({ runId: taken.runId, jobId }, agentId);
      return 'acked';
    }
    const release = () => {
      if (held && !ownerWaits) this.dispatcher.release(jobId);
    };
    if (!session) {
      release();
      return 'gone';
    }
    let jobs = this.overdue.get(session);
    if (!jobs) this.overdue.set(session, (jobs = new Set()));
    jobs.add(jobId);
    return new Promise((resolve) =>
      nextTurn(this.o.clock, () => {
        // Gone from the set: a frame about the job came in meanwhile (see tellFrame).
        if (!jobs.delete(jobId)) return resolve('acked');
        release();
        session.close(CloseCode.dispatchAckTimeout, `job ${jobId} was not acknowledged in time`);
        resolve('closed');
      }),
    );
  }

  /** Ask the agent holding a job to stop it; a job still queued is simply withdrawn. */
  cancel(job: JobRef, reason: string, force: boolean, epoch: number, agentId?: string): 'withdrawn' | 'sent' | 'unknown' {
    const frame = { type: 'job.cancel' as const, runId: job.runId, jobId: job.jobId, reason, force, epoch };
    const holder = this.dispatcher.holder(job.jobId);
    // Naming an agent that is not the holder stops only that agent's stale copy (the job was given
    // elsewhere while it was away); the holder and the queue are left alone.
    if (agentId !== undefined && holder?.agentId !== agentId) {
      const stale = this.sessions.get(agentId);
      if (!stale) return this.placement.commandElsewhere({ command: 'cancel', agentId, runId: job.runId, jobId: job.jobId, reason, force, epoch }) ? 'sent' : 'unknown';
      stale.send(frame);
      return 'sent';
    }
    if (this.placement.withdraw(job.jobId)) return 'withdrawn';
    const session = holder && this.sessions.get(holder.agentId);
    if (!session) return 'unknown';
    session.send(frame);
    return 'sent';
  }

  /** A run refused this agent's message about a job it does not hold: its actor logs and counts it. */
  refusedClaim(claim: RefusedClaim): void {
    if (!this.sessions.has(claim.agentId)) {
      this.placement.commandElsewhere({ command: 'refused', ...claim });
      return;
    }
    this.tell(claim.agentId, { type: 'refused', claim, at: this.o.clock.now() });
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

  /** Why a job with these labels still waits for an agent here. */
  waitReason(runsOn: readonly LabelMatcher[] | undefined): string {
    return this.directory.waitReason(runsOn, this.placement.remote.list());
  }

  isConnected(agentId: string): boolean {
    return this.sessions.has(agentId);
  }

  connectedAgents(): string[] {
    return [...this.sessions.keys()];
  }

  /** Agents whose sockets other nodes hold, as those nodes last reported their slots. */
  agentsElsewhere(): RemoteAgent[] {
    return this.placement.remote.list();
  }

  /** When an agent connected to this node last sent anything (frame, ping or pong); undefined elsewhere. */
  lastSeenOf(agentId: string): number | undefined {
    const session = this.sessions.get(agentId);
    return session ? this.lastSeen.get(session) : undefined;
  }

  /** Resolves once every agent actor has handled what it was told so far (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.told.size > 0) {
      const agents = [...this.told];
      this.told.clear();
      // An ask queues behind the frames already in the mailbox; a closed system has nothing left.
      await Promise.all(agents.map((id) => this.agent(id).ask({ type: 'settled' }, SETTLE_ASK_MS).catch(() => {})));
    }
  }

  async stop(): Promise<void> {
    this.stopHeartbeatCheck();
    for (const s of [...this.sessions.values()]) s.close(CloseCode.goingAway, 'orchestrator shutting down');
    // Let each agent's actor report its jobs lost before the node's actors shut down.
    await this.settled();
    if (this.ownsSystem) await this.system.shutdown();
    this.maskers.clear();
  }

  private agent(agentId: string): ActorRef<AgentActorMessage> {
    return this.system.ref<AgentActorMessage>(AGENT_ACTOR_KIND, agentId);
  }

  private tell(agentId: string, msg: AgentActorMessage): void {
    this.told.add(agentId);
    this.agent(agentId).tell(msg);
  }

  private registered(session: AgentSession, register: AgentRegister): void {
    const at = this.o.clock.now();
    this.lastSeen.set(session, at);
    this.tell(register.agentId, { type: 'registered', session, register, at });
  }

  private tellFrame(session: AgentSession, frame: AgentMessage): void {
    const at = this.o.clock.now();
    this.lastSeen.set(session, at);
    // Any word about an overdue job (ack, reject, status, logs) shows the dispatch was answered.
    if ('jobId' in frame) this.overdue.get(session)?.delete(frame.jobId);
    this.tell(session.agentId!, { type: 'frame', session, frame, at });
  }

  private sendDispatch(agentId: string, request: DispatchRequest): boolean {
    const session = this.sessions.get(agentId);
    if (!session || session.closed) return false;
    this.maskers.dispatched(request.jobId, request.frame.secrets);
    session.send({ type: 'job.dispatch', ...request.frame });
    this.o.onJobDispatched?.();
    return true;
  }

  /** A WebSocket ping or pong: the agent is alive, though it sent no message. */
  private heard(session: AgentSession): void {
    if (this.lastSeen.has(session)) this.lastSeen.set(session, this.o.clock.now());
  }

  private closed(session: AgentSession): void {
    this.lastSeen.delete(session);
    this.overdue.delete(session);
    const agentId = session.agentId;
    if (agentId === undefined) return;
    // Off the directory at once, so no dispatch picks a dead connection while its actor catches up;
    // the actor does the rest (and does nothing for a session it already replaced).
    if (this.sessions.get(agentId) === session) this.directory.remove(agentId);
    this.tell(agentId, { type: 'closed', session });
  }

  /**
   * Close sessions silent (no frame, ping or pong) for the heartbeat timeout, within it: a check
   * every tenth of the timeout (50 ms to 5 s) closes each session that would pass the timeout
   * before the next check, so an agent is closed after between 0.9 (for timeouts of 500 ms or more)
   * and 1 times the timeout of silence, never later. A session found silent is looked at again a
   * check interval later and closed only if still silent: a stall of this node longer than the
   * timeout must not close agents whose frames are waiting in their sockets, and one turn of the
   * event loop proved too short for Node to have read them (seen with real sockets).
   */
  private scheduleHeartbeatCheck(): () => void {
    const timeout = this.o.heartbeatTimeoutMs;
    const every = Math.max(50, Math.min(5_000, Math.floor(timeout / 10)));
    /** Would pass the timeout within `slack` ms. */
    const silent = (session: AgentSession, slack: number): boolean => {
      const seen = this.lastSeen.get(session);
      return seen !== undefined && this.o.clock.now() - seen + slack > timeout;
    };
    let cancel = () => {};
    const loop = () => {
      cancel = this.o.clock.setTimer(every, () => {
        // Suspects would pass the timeout before the confirmation after next: closing then keeps it.
        const suspects = [...this.lastSeen.keys()].filter((s) => silent(s, 2 * every));
        if (suspects.length > 0) {
          this.o.clock.setTimer(every, () => {
            for (const s of suspects) if (silent(s, every)) s.close(CloseCode.heartbeatTimeout, 'no heartbeat');
          });
        }
        loop();
      });
    };
    loop();
    return () => cancel();
  }
}
