import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock/index.js';
import { agentSlotCap } from '../vocabulary/index.js';
import { AGENT_FRAME_LIMITS, FrameBudget, limitsForSlots, type FrameLimits } from './frame-budget.js';
import {
  CloseCode,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  closeReason,
  parseAgentFrame,
  type AgentMessage,
  type AgentRegister,
  type OrchestratorMessageInput,
} from '../transport/index.js';

/** The socket as the session sees it: text out, close with a code. The server adapts `ws` to it. */
export interface AgentSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
  /**
   * The client's address, for the failed-auth limit and warnings: the TCP peer, or the client a
   * trusted proxy names in X-Forwarded-For (never a forwarded header from anyone else).
   */
  readonly remoteAddress?: string;
}

export interface TokenGrant {
  tokenId: string;
  /** Labels agents using this token may claim; null means no restriction. */
  labels: string[] | null;
  /** The most slots (maxConcurrency) an agent using this token may declare; null: DEFAULT_AGENT_SLOT_CAP. */
  maxConcurrency: number | null;
}

export interface SessionPorts {
  validateToken(token: string): Promise<TokenGrant | null>;
  /** Called once the agent is registered and register.ack was sent; may refuse with a close code. */
  onRegistered(session: AgentSession, register: AgentRegister): { refuse?: { code: number; reason: string } } | void;
  /** Every valid frame after registration (including re-registers). */
  onMessage(session: AgentSession, message: AgentMessage): void;
  onClosed(session: AgentSession): void;
  /** A WebSocket ping or pong from the agent (see `pinged`): a sign of life, though no message. */
  onAlive?(session: AgentSession): void;
  /**
   * A token check failed: it is counted against the address, and the answer says whether the
   * address had already used up its failures (then the session closes 4003 instead of 4010).
   * Absent: failures are not limited.
   */
  authFailed?(address: string): { limited: boolean };
  /** Every rejection the session answers, with its reason and the client address; never a secret. */
  warn?(message: string, fields: Record<string, unknown>): void;
}

export interface SessionOptions {
  authTimeoutMs?: number;
  registerTimeoutMs?: number;
  /** The frame budget until agent.register, and the floor after it, when it grows with the slots. */
  frameLimits?: FrameLimits;
}

/** An outgoing message before the session stamps its envelope (messageId, timestamp). */
export type OutgoingMessage = OrchestratorMessageInput extends infer M ? (M extends unknown ? Omit<M, 'messageId' | 'timestamp'> & { messageId?: string } : never) : never;

type Phase = 'pending_auth' | 'pending_registration' | 'registered' | 'closed';

// Labels the agent derives from its own host; a token's label restriction does not apply to them.
const SELF_DERIVED = /^(os|arch|host):/;

// Liveness must never be throttled: a flood of other frames must not make a healthy agent look dead.
const UNMETERED = new Set<AgentMessage['type']>(['heartbeat', 'job.heartbeat']);

/**
 * One agent connection's handshake and framing: auth.request within 5 s, agent.register within
 * 10 s, then only valid agent→orchestrator frames. Anything off-protocol closes the socket with
 * KiCI's close codes. It holds no job state: that belongs to the agent's actor.
 */
export class AgentSession {
  readonly connectionId = randomUUID();
  agentId?: string;
  grant?: TokenGrant;
  labels: string[] = [];
  maxConcurrency = 1;
  private phase: Phase = 'pending_auth';
  private cancelTimer?: () => void;
  /** Frames that arrive while the token check is in flight are held in order, never dropped. */
  private held: string[] = [];
  private validating = false;
  private readonly budget: FrameBudget;

  constructor(
    private readonly socket: AgentSocket,
    private readonly ports: SessionPorts,
    private readonly clock: Clock,
    private readonly options: SessionOptions = {},
  ) {
    this.budget = new FrameBudget(clock, options.frameLimits);
    this.arm(options.authTimeoutMs ?? 5000, 'auth.request not received in time');
  }

  /** Where the connection comes from ('unknown' when the transport cannot tell). */
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? 'unknown';
  }

  get registered(): boolean {
    return this.phase === 'registered';
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  send(message: OutgoingMessage): void {
    if (this.phase === 'closed') return;
    const framed = { messageId: randomUUID(), timestamp: this.clock.now(), ...message };
    this.socket.send(JSON.stringify(framed));
  }

  close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.finish();
    this.socket.close(code, closeReason(reason));
    this.ports.onClosed(this);
  }

  /** The socket closed from the other side (or the network). Idempotent. */
  socketClosed(): void {
    if (this.phase === 'closed') return;
    this.finish();
    this.ports.onClosed(this);
  }

  /**
   * The transport received a WebSocket ping (or pong) from the agent. The agent pings a quiet link
   * every quarter of its own timeout instead of sending messages, so a ping proves the agent is
   * alive as much as a frame does; it is not a message, so the frame budget does not see it.
   */
  pinged(): void {
    if (this.phase !== 'closed') this.ports.onAlive?.(this);
  }

  receive(text: string): void {
    if (this.phase === 'closed') return;
    const bytes = Buffer.byteLength(text, 'utf8');
    const tooBig = this.budget.oversize(bytes);
    if (tooBig) return this.refuse(CloseCode.invalidMessage, tooBig);
    if (this.validating) {
      this.held.push(text);
      return;
    }
    const parsed = parseAgentFrame(text);
    if (!parsed.ok) {
      this.send({ type: 'error', code: 'INVALID_MESSAGE', message: parsed.error.slice(0, 500) });
      // Zod's issue text names fields and expected shapes, never the values sent: no token leaks here.
      this.refuse(CloseCode.invalidMessage, `invalid message: ${parsed.error}`);
      return;
    }
    const msg = parsed.message;
    if (UNMETERED.has(msg.type)) return this.route(msg);
    const verdict = this.budget.admit(bytes);
    if (verdict.kind === 'over' && verdict.warn) this.send({ type: 'rate.limit.warning', retryAfterMs: verdict.retryAfterMs });
    // Over the limit the frame is still handled: it may be a job's result, which must not be lost.
    this.route(msg);
    if (verdict.kind === 'close') this.refuse(CloseCode.invalidMessage, verdict.reason);
  }

  private route(msg: AgentMessage): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'pending_auth') return void this.authenticate(msg);
    if (this.phase === 'pending_registration') {
      if (msg.type !== 'agent.register') return this.refuse(CloseCode.invalidMessage, `expected agent.register, got ${msg.type}`);
      return this.register(msg);
    }
    if (msg.type === 'agent.register') return this.register(msg);
    this.ports.onMessage(this, msg);
  }

  private async authenticate(msg: AgentMessage): Promise<void> {
    if (msg.type !== 'auth.request') {
      this.send({ type: 'auth.failure', reason: 'auth.request must be the first message' });
      return this.refuse(CloseCode.agentAuthFailed, 'auth.request must be the first message');
    }
    // Above the maximum too: a newer agent may send messages this build would misread.
    if (msg.protocolVersion < MIN_PROTOCOL_VERSION || msg.protocolVersion > MAX_PROTOCOL_VERSION) {
      const supported = `supported protocol versions: ${MIN_PROTOCOL_VERSION}–${MAX_PROTOCOL_VERSION}`;
      this.send({ type: 'auth.failure', reason: `protocol version ${msg.protocolVersion} is not supported; ${supported}` });
      return this.refuse(CloseCode.protocolError, `unsupported protocol version ${msg.protocolVersion}; ${supported}`);
    }
    this.validating = true;
    let grant: TokenGrant | null = null;
    try {
      grant = await this.ports.validateToken(msg.token);
    } catch {
      grant = null;
    }
    this.validating = false;
    if (this.phase === 'closed') return;
    if (!grant) return this.tokenRefused();
    this.grant = grant;
    this.phase = 'pending_registration';
    this.send({ type: 'auth.success', connectionId: this.connectionId });
    this.arm(this.options.registerTimeoutMs ?? 10_000, 'agent.register not received in time');
    const held = this.held;
    this.held = [];
    for (const text of held) this.receive(text);
  }

  private register(msg: AgentRegister): void {
    // Token gates run on every register, re-registers included, so labels and slots can't be raised later.
    const allowed = this.grant?.labels;
    if (allowed) {
      const extra = msg.labels.filter((l) => !SELF_DERIVED.test(l) && !allowed.includes(l));
      if (extra.length > 0) {
        this.send({ type: 'auth.failure', reason: `labels not allowed by this token: ${extra.join(', ')}` });
        return this.refuse(CloseCode.agentAuthFailed, 'labels not allowed by token');
      }
    }
    const cap = agentSlotCap(this.grant?.maxConcurrency ?? null);
    if (msg.maxConcurrency > cap) {
      // Told, not clamped: an agent throttled below what it was configured for would look merely slow.
      const source = this.grant?.maxConcurrency == null ? 'the default cap' : 'its cap';
      this.send({
        type: 'auth.failure',
        reason: `maxConcurrency ${msg.maxConcurrency} is above this token's limit (${source}: ${cap} slots); lower --max-concurrency, or use a token made with kici-admin agent token create --max-concurrency ${msg.maxConcurrency}`,
      });
      return this.refuse(CloseCode.agentAuthFailed, `maxConcurrency ${msg.maxConcurrency} above the token's cap of ${cap}`);
    }
    if (this.agentId && this.agentId !== msg.agentId) {
      return this.refuse(CloseCode.invalidMessage, 'agentId cannot change on a connection');
    }
    this.cancelTimer?.();
    this.agentId = msg.agentId;
    this.labels = [...new Set(msg.labels)];
    this.maxConcurrency = msg.maxConcurrency;
    // The budget grows with the slots only now that they are declared, and within the token's cap.
    this.budget.retune(limitsForSlots(msg.maxConcurrency, this.options.frameLimits ?? AGENT_FRAME_LIMITS));
    this.phase = 'registered';
    this.send({ type: 'register.ack', agentId: msg.agentId, labels: this.labels });
    const outcome = this.ports.onRegistered(this, msg);
    if (outcome && outcome.refuse) this.refuse(outcome.refuse.code, outcome.refuse.reason);
  }

  /**
   * A bad token. Within its address's failure limit the agent hears auth.failure and 4010 (the
   * token is dead; a KiCI agent stops for good). Past it, only 4003 "rate limited": the check
   * still ran, so a good token from the same address was never refused here.
   */
  private tokenRefused(): void {
    const verdict = this.ports.authFailed?.(this.remoteAddress);
    if (verdict?.limited) return this.refuse(CloseCode.invalidMessage, 'rate limited');
    this.send({ type: 'auth.failure', reason: 'invalid, revoked or expired token' });
    this.refuse(CloseCode.agentAuthFailed, 'invalid token');
  }

  /** Close for something the agent did wrong, and say so in the log with where it came from. */
  private refuse(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.ports.warn?.('agent connection refused', { reason, code, address: this.remoteAddress, agentId: this.agentId, phase: this.phase });
    this.close(code, reason);
  }

  private arm(ms: number, reason: string): void {
    this.cancelTimer?.();
    this.cancelTimer = this.clock.setTimer(ms, () => this.refuse(CloseCode.handshakeTimeout, reason));
  }

  private finish(): void {
    this.phase = 'closed';
    this.cancelTimer?.();
    this.held = [];
  }
}
