/**
 * A simulated agent process: it connects to its orchestrator node over a simulated WebSocket and
 * speaks the real agent protocol (auth.request, agent.register with the jobs it still runs or has
 * final states of in its outbox, job.ack
 * / job.reject, step.status, job.status, heartbeats), decides dispatches as the real JobRunner does
 * (a stale epoch refused, a job it already runs acked again and never started twice, a full agent
 * busy), "runs" each job for a seeded virtual time, and keeps final states in an outbox until the
 * orchestrator acks them. It outlives its node: when the node crashes it keeps its jobs running
 * and reconnects once the node is back. Every execution is reported to the invariant checker.
 */
import type { AgentHub } from '../agents/index.js';
import type { SimRandom } from '../raft/index.js';
import { AgentLine } from './agent-line.js';
import type { SimLoop } from './loop.js';

export interface ExecutionWatch {
  started(agentId: string, job: { runId: string; jobId: string; attempt: number; epoch: number }): void;
  ended(agentId: string, jobId: string, how: string): void;
  /** The orchestrator acknowledged this agent's final status of a job (it says it is recorded). */
  acknowledged(agentId: string, jobId: string, state: string): void;
}

export interface SimAgentOptions {
  id: string;
  /** The orchestrator node it connects to. */
  node: string;
  labels: string[];
  capacity: number;
  /** How long a job runs, in virtual ms. */
  jobMs: readonly [number, number];
  /** Share of jobs that fail. */
  failShare: number;
  /** job.heartbeat for each running job, this often. */
  jobHeartbeatMs: number;
}

interface Execution {
  runId: string;
  attempt: number;
  cancel(): void;
}

/** The simulation's dispatch frames carry the dispatch attempt too (HubDispatcher's `stamp`, in sim-node.ts). */
type DispatchFrame = { runId: string; jobId: string; epoch: number; simDispatchAttempt?: number };

const HEARTBEAT_MS = 10_000;
const RESEND_MS = 2_000;

export class SimAgent {
  private line: AgentLine | undefined;
  private readonly running = new Map<string, Execution>();
  private readonly epochs = new Map<string, number>();
  /** Final states not yet acked, by message id, oldest first. */
  private readonly outbox = new Map<string, string>();
  /** Which job and final state each outboxed job.status carries, by message id. */
  private readonly finals = new Map<string, { jobId: string; runId: string; state: string }>();
  private seq = 0;

  constructor(
    readonly o: SimAgentOptions,
    private readonly loop: SimLoop,
    private readonly rng: SimRandom,
    /** The hub of the node's process now running, if any. */
    private readonly hubOf: () => AgentHub | undefined,
    private readonly watch: ExecutionWatch,
  ) {}

  get id(): string {
    return this.o.id;
  }

  /** Jobs it runs now. */
  get busy(): number {
    return this.running.size;
  }

  start(): void {
    this.connect();
    const beat = () => {
      this.send({ type: 'heartbeat', timestamp: this.timestamp() });
      this.loop.after(HEARTBEAT_MS, beat);
    };
    this.loop.after(HEARTBEAT_MS, beat);
    const resend = () => {
      this.flush();
      this.loop.after(RESEND_MS, resend);
    };
    this.loop.after(RESEND_MS, resend);
  }

  /** Its node's process died: the connection drops under it. */
  nodeDied(): void {
    this.line?.drop();
  }

  // ---- the connection ------------------------------------------------------------------------

  private connect(): void {
    const hub = this.hubOf();
    if (!hub) {
      this.loop.after(this.rng.between(100, 500), () => this.connect());
      return;
    }
    const line = new AgentLine(this.loop, this.rng, { frame: (l, text) => this.frame(l, text), closed: (l) => this.closed(l) }, this.o.id);
    this.line = line;
    line.bind(hub.attach(line));
    this.send({ type: 'auth.request', messageId: this.nextId(), token: 'sim-token', protocolVersion: 1 });
    this.send({
      type: 'agent.register',
      messageId: this.nextId(),
      agentId: this.o.id,
      labels: this.o.labels,
      platform: 'linux',
      arch: 'x64',
      version: 'sim',
      hostname: `${this.o.id}.sim`,
      maxConcurrency: this.o.capacity,
      inFlightJobs: this.inFlight(),
    });
  }

  private closed(line: AgentLine): void {
    if (line !== this.line) return;
    this.line = undefined;
    this.loop.after(this.rng.between(100, 500), () => this.connect());
  }

  private frame(line: AgentLine, text: string): void {
    if (line !== this.line) return;
    const msg = JSON.parse(text) as { type: string; messageId?: string } & Record<string, unknown>;
    switch (msg.type) {
      case 'register.ack':
        return this.flush();
      case 'job.dispatch':
        return this.dispatched(msg as unknown as DispatchFrame);
      case 'job.cancel':
        return this.cancelled(msg as unknown as { runId: string; jobId: string; epoch: number; reason?: string });
      case 'ack':
        return this.acked(msg.messageId!);
      default:
        return;
    }
  }

  // ---- jobs ----------------------------------------------------------------------------------

  /** JobRunner.decide: stale epoch, duplicate (acked again, never started twice), busy, accepted. */
  private dispatched(d: DispatchFrame): void {
    const seen = this.epochs.get(d.runId) ?? 0;
    let decision: 'accepted' | 'duplicate' | 'busy' | 'stale_epoch';
    if (d.epoch < seen) decision = 'stale_epoch';
    else {
      this.epochs.set(d.runId, Math.max(seen, d.epoch));
      if (this.running.has(d.jobId)) decision = 'duplicate';
      else if (this.running.size >= this.o.capacity) decision = 'busy';
      else decision = 'accepted';
    }
    const about = { messageId: this.nextId(), timestamp: this.timestamp(), jobId: d.jobId, runId: d.runId };
    if (decision === 'accepted' || decision === 'duplicate') this.send({ type: 'job.ack', ...about });
    else this.send({ type: 'job.reject', ...about, reason: decision });
    if (decision === 'accepted') this.run(d);
  }

  private run(d: DispatchFrame): void {
    const attempt = d.simDispatchAttempt ?? 0;
    this.watch.started(this.o.id, { runId: d.runId, jobId: d.jobId, attempt, epoch: d.epoch });
    const report = { runId: d.runId, jobId: d.jobId };
    const begin = this.loop.after(this.rng.between(1, 20), () => {
      this.send({ type: 'job.status', messageId: this.nextId(), timestamp: this.timestamp(), ...report, state: 'running' });
      this.send({ type: 'step.status', messageId: this.nextId(), timestamp: this.timestamp(), ...report, stepIndex: 0, stepName: 'step-1', state: 'running' });
    });
    const beat = () => {
      this.send({ type: 'job.heartbeat', ...report, timestamp: this.timestamp() });
      stopBeat = this.loop.after(this.o.jobHeartbeatMs, beat);
    };
    let stopBeat = this.loop.after(this.o.jobHeartbeatMs, beat);
    const [lo, hi] = this.o.jobMs;
    const end = this.loop.after(this.rng.between(lo, hi), () => {
      const failed = this.rng.chance(this.o.failShare);
      this.finish(d.jobId, failed ? 'failed' : 'success', failed ? 'step_failed: step-1' : undefined);
    });
    this.running.set(d.jobId, {
      runId: d.runId,
      attempt,
      cancel: () => {
        begin();
        end();
        stopBeat();
      },
    });
  }

  private cancelled(c: { runId: string; jobId: string; epoch: number; reason?: string }): void {
    if (c.epoch < (this.epochs.get(c.runId) ?? 0)) return;
    const job = this.running.get(c.jobId);
    if (!job || job.runId !== c.runId) return;
    job.cancel();
    this.finish(c.jobId, 'cancelled', `cancelled: ${c.reason ?? 'cancelled'}`);
  }

  /** The job's process ended: its final step and job states go out through the outbox. */
  private finish(jobId: string, state: 'success' | 'failed' | 'cancelled', error?: string): void {
    const job = this.running.get(jobId);
    if (!job) return;
    job.cancel();
    this.running.delete(jobId);
    this.watch.ended(this.o.id, jobId, state);
    const report = { runId: job.runId, jobId };
    const stepState = state === 'success' ? 'success' : state === 'failed' ? 'failed' : 'cancelled';
    this.keep({ type: 'step.status', messageId: this.nextId(), timestamp: this.timestamp(), ...report, stepIndex: 0, stepName: 'step-1', state: stepState, exitCode: state === 'cancelled' ? null : state === 'success' ? 0 : 1 });
    const messageId = this.nextId();
    this.finals.set(messageId, { jobId, runId: job.runId, state });
    this.keep({ type: 'job.status', messageId, timestamp: this.timestamp(), ...report, state, ...(error ? { error } : {}) });
  }

  private acked(messageId: string): void {
    if (!this.outbox.delete(messageId)) return;
    const final = this.finals.get(messageId);
    if (!final) return;
    this.finals.delete(messageId);
    this.watch.acknowledged(this.o.id, final.jobId, final.state);
  }

  /**
   * The jobs it registers with, as the real agent does (agent/connection.ts): those it runs, and
   * those whose final state waits in the outbox (finished, not yet acknowledged), so a reconnect
   * before the ack is not taken for a restart that lost them.
   */
  private inFlight(): { jobId: string; runId: string }[] {
    const known = new Map([...this.running].map(([jobId, e]) => [jobId, { jobId, runId: e.runId }]));
    for (const f of this.finals.values()) known.set(f.jobId, { jobId: f.jobId, runId: f.runId });
    return [...known.values()];
  }

  private keep(msg: { messageId: string } & Record<string, unknown>): void {
    const text = JSON.stringify(msg);
    this.outbox.set(msg.messageId, text);
    this.line?.toOrchestrator(text);
  }

  private flush(): void {
    for (const text of this.outbox.values()) this.line?.toOrchestrator(text);
  }

  private send(msg: Record<string, unknown>): void {
    this.line?.toOrchestrator(JSON.stringify(msg));
  }

  private nextId(): string {
    return `${this.o.id}-${++this.seq}`;
  }

  private timestamp(): number {
    return Math.round(this.loop.now());
  }
}
