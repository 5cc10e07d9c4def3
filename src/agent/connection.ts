import { randomUUID } from 'node:crypto';
import os from 'node:os';
import WebSocket from 'ws';
import { systemClock, systemRandom, type Clock, type Random } from '../clock/index.js';
import { silentLogger, type AgentLogger } from './agent-log.js';
import { LinkWatch, DEFAULT_PING_TIMEOUT_MS } from './link-watch.js';
import { Outbox, isStatusMessage, isTerminalStatus } from './outbox.js';
import {
  CloseCode,
  PROTOCOL_VERSION,
  closeReason,
  parseOrchestratorFrame,
  type AgentMessage,
  type InFlightJob,
  type JobCancel,
  type JobDispatch,
  type OrchestratorMessage,
} from '../transport/index.js';
import { reconnectDelay } from './reconnect-delay.js';
import { RingBuffer } from './ring-buffer.js';
import { SendPacer } from './send-pacer.js';
import { AGENT_VERSION } from './version.js';

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
export const DEFAULT_EVENT_BUFFER_SIZE = 5000;
/** Under KiCI's per-connection limit of 100 frames/s and a burst of 200. */
export const DEFAULT_SEND_RATE_PER_SECOND = 80;
export const DEFAULT_SEND_BURST = 150;
/** An unacked terminal status goes out again after this long, even on a socket that stayed up. */
export const DEFAULT_STATUS_RESEND_MS = 30_000;
/** KiCI's client limit, against compression bombs. */
const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;
const STOP_WAIT_MS = 5000;

export interface ConnectionOptions {
  /** Orchestrator nodes to try, in turn: after a failed attempt or a dropped link, the next one. */
  urls: string[];
  token: string;
  agentId: string;
  /** Complete list, os/arch labels included. */
  labels: string[];
  maxConcurrency: number;
  /** Jobs still running here, reported in agent.register so the orchestrator re-attaches them. */
  inFlightJobs: () => InFlightJob[];
  /** The step a running job is on, so the gap marker lands in the log a reader is looking at. */
  currentStep?: (jobId: string) => number | undefined;
  onDispatch: (dispatch: JobDispatch) => void;
  onCancel: (cancel: JobCancel) => void;
  onRegistered?: (labels: string[]) => void;
  clock?: Clock;
  random?: Random;
  logger?: AgentLogger;
  heartbeatIntervalMs?: number;
  reconnectBaseMs?: number;
  maxReconnectDelayMs?: number;
  eventBufferSize?: number;
  sendRatePerSecond?: number;
  sendBurst?: number;
  statusResendMs?: number;
  /** A link silent this long (no frame, no pong) is taken for dead; also bounds the opening handshake. */
  pingTimeoutMs?: number;
  /** Where statuses wait for their ack (durable when it has files); an in-memory one when absent. */
  outbox?: Outbox;
}

export type ConnectionState = 'idle' | 'connecting' | 'authenticating' | 'registering' | 'registered' | 'waiting' | 'ended';
export type ConnectionEnd = { kind: 'stopped' } | { kind: 'auth_failed'; reason: string };

/**
 * The agent's side of `/ws`: auth → register → registered, heartbeats, reconnect with backoff,
 * and nothing lost on the way: statuses wait in the outbox until acked, logs and job heartbeats in
 * a ring buffer while disconnected, all replayed after the next register.ack.
 */
export class AgentConnection {
  private ws: WebSocket | undefined;
  private current: ConnectionState = 'idle';
  private attempt = 0;
  /** Index into `urls` of the node tried now. */
  private urlIndex = 0;
  private readonly outbox: Outbox;
  private readonly watch: LinkWatch;
  private readonly pingTimeoutMs: number;
  private readonly events: RingBuffer<AgentMessage>;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: AgentLogger;
  private cancelHeartbeat: (() => void) | undefined;
  private cancelReconnect: (() => void) | undefined;
  private cancelDrain: (() => void) | undefined;
  private readonly pacer: SendPacer;
  private disconnectedAt: number | undefined;
  private authFailure: string | undefined;
  private stopping = false;
  private resolveEnded!: (end: ConnectionEnd) => void;
  readonly ended: Promise<ConnectionEnd>;

  constructor(private readonly options: ConnectionOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.logger = options.logger ?? silentLogger;
    if (options.urls.length === 0) throw new Error('an agent needs at least one orchestrator URL');
    this.outbox = options.outbox ?? new Outbox();
    this.events = new RingBuffer(options.eventBufferSize ?? DEFAULT_EVENT_BUFFER_SIZE);
    this.pingTimeoutMs = options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
    this.watch = new LinkWatch(this.clock, this.pingTimeoutMs, {
      ping: () => this.ws?.ping(),
      dead: (silentForMs) => {
        this.logger.warn({ url: this.url, silentForMs, pingTimeoutMs: this.pingTimeoutMs }, 'no frame from the orchestrator in time (dead or half-open link); reconnecting');
        this.ws?.terminate();
      },
    });
    this.pacer = new SendPacer(this.clock, {
      ratePerSecond: options.sendRatePerSecond ?? DEFAULT_SEND_RATE_PER_SECOND,
      burst: options.sendBurst ?? DEFAULT_SEND_BURST,
    });
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The orchestrator URL in use now (or tried next). */
  get url(): string {
    return this.options.urls[this.urlIndex] as string;
  }

  /** Jobs whose final job.status is not acked yet: they count as in flight on a reconnect. */
  unackedJobs(): InFlightJob[] {
    return this.outbox.unackedJobs();
  }

  start(): void {
    if (this.current === 'idle') this.connect();
  }

  /**
   * Statuses go out at once (terminal ones also wait in the outbox for their ack); logs, job
   * heartbeats and agent lines queue in order behind the pacer, and while disconnected. A job.ack or
   * job.reject for a socket that is gone is dropped: the orchestrator's recovery takes over.
   */
  send(message: AgentMessage): void {
    const live = this.isLive();
    if (isStatusMessage(message)) {
      if (!live || isTerminalStatus(message)) this.outbox.add(message, live ? this.clock.now() : undefined);
      if (live) this.sendCharged(message);
      return;
    }
    if (message.type === 'log.chunk' || message.type === 'job.heartbeat' || message.type === 'agent.log') {
      if (live && this.events.size === 0 && this.pacer.tryTake()) return this.sendRaw(message);
      this.events.push(message);
      if (live) this.scheduleDrain();
      return;
    }
    if (live) return this.sendCharged(message);
    this.logger.debug({ type: message.type }, 'dropped while disconnected');
  }

  /** Close with 1000 and never reconnect. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelReconnect?.();
    // Whatever log lines still wait for the pacer go now: there is no later.
    if (this.isLive()) while (this.events.size > 0) this.sendRaw(this.events.shift() as AgentMessage);
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      ws.close(CloseCode.normal, closeReason('agent shutting down'));
      const timer = setTimeout(() => ws.terminate(), STOP_WAIT_MS);
      await closed;
      clearTimeout(timer);
    }
    this.end({ kind: 'stopped' });
  }

  private connect(): void {
    this.current = 'connecting';
    this.logger.debug({ url: this.url }, 'connecting');
    // The handshake gets the ping deadline too: a node that accepts TCP but never answers is left as soon.
    const ws = new WebSocket(this.url, { maxPayload: MAX_PAYLOAD_BYTES, handshakeTimeout: this.pingTimeoutMs });
    this.ws = ws;
    ws.on('open', () => this.whenCurrent(ws, () => this.onOpen()));
    ws.on('message', (data, isBinary) => this.whenCurrent(ws, () => {
      this.watch.heard();
      this.onFrame(data as Buffer, isBinary);
    }));
    ws.on('pong', () => this.whenCurrent(ws, () => this.watch.heard()));
    ws.on('ping', () => this.whenCurrent(ws, () => this.watch.heard()));
    ws.on('close', (code, reason) => this.whenCurrent(ws, () => this.onClose(code, reason.toString('utf8'))));
    ws.on('error', (err) => this.logger.warn({ err: err.message }, 'agent socket error'));
  }

  private whenCurrent(ws: WebSocket, fn: () => void): void {
    if (ws === this.ws) fn();
  }

  private onOpen(): void {
    this.current = 'authenticating';
    this.watch.start();
    this.sendRaw({ type: 'auth.request', ...this.envelope(), token: this.options.token, protocolVersion: PROTOCOL_VERSION });
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    const parsed = isBinary ? { ok: false as const, error: 'binary frame' } : parseOrchestratorFrame(data);
    if (!parsed.ok) {
      this.logger.warn({ error: parsed.error }, 'ignored an invalid frame from the orchestrator');
      return;
    }
    this.onMessage(parsed.message);
  }

  private onMessage(message: OrchestratorMessage): void {
    switch (message.type) {
      case 'auth.success':
        if (this.current !== 'authenticating') return;
        this.current = 'registering';
        this.sendRaw(this.registerMessage());
        return;
      case 'auth.failure':
        this.authFailure = message.reason || 'authentication failed';
        this.ws?.close(CloseCode.normal, closeReason('auth failed'));
        return;
      case 'register.ack':
        if (this.current === 'registering') this.onRegistered(message.labels);
        return;
      case 'ack':
        this.outbox.ack(message.messageId);
        return;
      case 'job.dispatch':
        if (this.current === 'registered') this.options.onDispatch(message);
        return;
      case 'job.cancel':
        if (this.current === 'registered') this.options.onCancel(message);
        return;
      case 'rate.limit.warning':
        this.logger.warn({ retryAfterMs: message.retryAfterMs }, 'orchestrator rate limit warning; slowing down');
        this.pacer.backOff(message.retryAfterMs);
        return;
      case 'error':
        this.logger.warn({ code: message.code, message: message.message }, 'orchestrator error');
        return;
      case 'nack':
      case 'heartbeat':
        return;
    }
  }

  private registerMessage(): AgentMessage {
    const known = new Map<string, InFlightJob>();
    for (const job of [...this.options.inFlightJobs(), ...this.outbox.unackedJobs()]) known.set(job.jobId, job);
    return {
      type: 'agent.register',
      ...this.envelope(),
      agentId: this.options.agentId,
      labels: this.options.labels,
      platform: process.platform,
      arch: process.arch,
      version: AGENT_VERSION,
      hostname: os.hostname(),
      maxConcurrency: this.options.maxConcurrency,
      inFlightJobs: [...known.values()],
      osRelease: os.release(),
      nodeVersion: process.version,
      cpuCount: os.cpus().length,
      totalMemoryMb: Math.round(os.totalmem() / (1024 * 1024)),
      runningAsUser: currentUser(),
      runningAsUid: process.getuid?.(),
    };
  }

  private onRegistered(labels: string[]): void {
    this.current = 'registered';
    this.attempt = 0;
    this.logger.info({ agentId: this.options.agentId, labels, url: this.url }, 'registered with the orchestrator');
    this.flushAfterReconnect();
    this.startHeartbeat();
    this.options.onRegistered?.(labels);
  }

  /**
   * Gap marker → unacked and queued statuses → the gap marker in each surviving job's log →
   * buffered logs and job heartbeats (paced), in that order.
   */
  private flushAfterReconnect(): void {
    let gap: AgentMessage[] = [];
    if (this.disconnectedAt !== undefined) {
      const seconds = Math.round((this.clock.now() - this.disconnectedAt) / 1000);
      const marker =
        `[kici-agent] reconnected after a ${seconds}s outage: replaying ${this.outbox.size} status message(s) and ` +
        `${this.events.size} buffered event(s); ${this.events.dropped} event(s) were dropped`;
      this.sendCharged({ type: 'agent.log', ...this.envelope(), lines: [marker] });
      gap = this.gapMarkers(marker);
      this.events.resetDropped();
      this.disconnectedAt = undefined;
    }
    for (const message of this.outbox.takeForSend(this.clock.now())) this.sendCharged(message);
    for (const chunk of [...gap, ...this.restartMarkers()]) this.sendCharged(chunk);
    this.drainEvents();
  }

  /**
   * The marker as a log line of each job that lived through the outage, so a reader of the job's
   * log sees where the gap is: in the step whose lines were the first to be buffered, or else the
   * step the job is on now. It goes out before the buffered lines, which come from after the cut.
   */
  private gapMarkers(marker: string): AgentMessage[] {
    const at = new Map<string, { runId: string; stepIndex: number }>();
    for (const event of this.events.toArray()) {
      if (event.type === 'log.chunk' && !at.has(event.jobId)) at.set(event.jobId, { runId: event.runId, stepIndex: event.stepIndex });
    }
    for (const job of this.options.inFlightJobs()) {
      const stepIndex = this.options.currentStep?.(job.jobId);
      if (!at.has(job.jobId) && stepIndex !== undefined) at.set(job.jobId, { runId: job.runId, stepIndex });
    }
    return [...at].map(([jobId, { runId, stepIndex }]) => ({ type: 'log.chunk', ...this.envelope(), runId, jobId, stepIndex, lines: [marker] }));
  }

  /**
   * After a restart of the agent, a line in the log of each job whose result the earlier process
   * left in the outbox: log lines are kept in memory only, so what it had not sent yet is gone.
   */
  private restartMarkers(): AgentMessage[] {
    const line = '[kici-agent] the agent was restarted while this job\'s result waited for the orchestrator; log lines not sent before the restart are lost';
    return this.outbox
      .takeRestoredJobs()
      .map(({ runId, jobId, stepIndex }) => ({ type: 'log.chunk', ...this.envelope(), runId, jobId, stepIndex, lines: [line] }));
  }

  /** Send queued events while the pacer allows, then come back when it will allow more. */
  private drainEvents(): void {
    this.cancelDrain?.();
    this.cancelDrain = undefined;
    while (this.isLive() && this.events.size > 0 && this.pacer.tryTake()) {
      this.sendRaw(this.events.shift() as AgentMessage);
    }
    if (this.isLive() && this.events.size > 0) this.scheduleDrain();
  }

  private scheduleDrain(): void {
    this.cancelDrain ??= this.clock.setTimer(this.pacer.waitMs(), () => {
      this.cancelDrain = undefined;
      this.drainEvents();
    });
  }

  private startHeartbeat(): void {
    const interval = this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    // Liveness of the link is the LinkWatch's job; this beat is the protocol's heartbeat frame.
    const beat = (): void => {
      if (!this.ws || this.current !== 'registered') return;
      this.sendRaw({ type: 'heartbeat', timestamp: this.clock.now() });
      const resendAfter = this.options.statusResendMs ?? DEFAULT_STATUS_RESEND_MS;
      for (const message of this.outbox.dueForResend(this.clock.now(), resendAfter)) this.sendCharged(message);
      this.cancelHeartbeat = this.clock.setTimer(interval, beat);
    };
    this.cancelHeartbeat = this.clock.setTimer(interval, beat);
  }

  private onClose(code: number, reason: string): void {
    const wasRegistered = this.current === 'registered';
    this.watch.stop();
    this.cancelHeartbeat?.();
    this.cancelHeartbeat = undefined;
    this.cancelDrain?.();
    this.cancelDrain = undefined;
    this.ws = undefined;
    if (wasRegistered) this.disconnectedAt = this.clock.now();
    if (this.stopping) return this.end({ kind: 'stopped' });
    if (this.authFailure !== undefined || code === CloseCode.agentAuthFailed) {
      const why = this.authFailure ?? (reason || 'agent token refused');
      this.logger.error({ code, reason: why }, 'authentication failed; not reconnecting');
      return this.end({ kind: 'auth_failed', reason: why });
    }
    const delay = reconnectDelay(this.attempt, this.random, {
      baseMs: this.options.reconnectBaseMs,
      maxMs: this.options.maxReconnectDelayMs,
    });
    this.attempt += 1;
    this.current = 'waiting';
    // Round robin over the nodes: the one that failed or dropped us is tried again last.
    const from = this.url;
    this.urlIndex = (this.urlIndex + 1) % this.options.urls.length;
    this.logger.warn({ code, reason, delayMs: delay, url: from, nextUrl: this.url }, 'disconnected; reconnecting');
    this.cancelReconnect = this.clock.setTimer(delay, () => {
      this.cancelReconnect = undefined;
      if (!this.stopping) this.connect();
    });
  }

  private end(end: ConnectionEnd): void {
    if (this.current === 'ended') return;
    this.current = 'ended';
    this.watch.stop();
    this.cancelHeartbeat?.();
    this.cancelReconnect?.();
    this.cancelDrain?.();
    this.resolveEnded(end);
  }

  private isLive(): boolean {
    return this.current === 'registered' && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Frames that go out whatever the pacer says, but still use up its budget. */
  private sendCharged(message: AgentMessage): void {
    this.pacer.charge();
    this.sendRaw(message);
  }

  private sendRaw(message: AgentMessage): void {
    // ws throws on a socket still connecting; anything that must survive is in the outbox anyway.
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(message), (err) => {
      if (err) this.logger.warn({ type: message.type, err: err.message }, 'send failed');
    });
  }

  private envelope(): { messageId: string; timestamp: number } {
    return { messageId: randomUUID(), timestamp: this.clock.now() };
  }
}

function currentUser(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}
