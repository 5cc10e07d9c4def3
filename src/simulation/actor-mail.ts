/**
 * Actors across simulated nodes: the actor system's RemoteSend port over the simulated mesh, with
 * the semantics of the orchestrator's `actor.deliver` links (src/server/wiring/actor-links.ts,
 * which the simulator cannot import: it sits in the composition root). An envelope goes to the
 * node that owns its shard and comes back delivered (a tell) or answered (an ask); what the wire
 * loses is sent again until the deadline; a node that does not own the shard answers "moved" and
 * the sender looks again in its own map; the receiver remembers message ids, so a message that
 * arrives twice is applied once and a resent ask gets the first answer.
 */
import { NotShardOwnerError, type ActorSystem, type Envelope, type RemoteSend } from '../actors/index.js';
import type { PeerCalls } from './peer-calls.js';
import type { ProcessClock } from './process-clock.js';

type Answer = { outcome: 'delivered'; reply?: unknown } | { outcome: 'moved'; owner?: string } | { outcome: 'failed'; reason: string };

interface DeliverBody {
  id: string;
  envelope: Envelope;
  ask: boolean;
  timeoutMs: number;
}

/** The same pacing as the production links. */
const ATTEMPT_TIMEOUT_MS = 1_000;
const FIRST_RETRY_MS = 20;
const MAX_RETRY_MS = 1_000;
const TELL_TIMEOUT_MS = 30_000;
const DEDUP_WINDOW_MS = 300_000;

export class ActorDeliveryTimeoutError extends Error {
  constructor(envelope: Envelope, timeoutMs: number, last: string) {
    super(`no owner of ${envelope.kind}/${envelope.key} took the message within ${timeoutMs} ms (${last})`);
    this.name = 'ActorDeliveryTimeoutError';
  }
}

export class ActorMail implements RemoteSend {
  private counter = 0;
  private readonly seen = new Map<string, { at: number; answer: Promise<Answer> }>();
  private system: ActorSystem | undefined;

  constructor(
    private readonly nodeId: string,
    /** Which process of the node this is: message ids stay unique across restarts. */
    private readonly incarnation: number,
    private readonly calls: PeerCalls,
    private readonly clock: ProcessClock,
    /** A tell given up on. */
    private readonly undelivered: (envelope: Envelope, reason: Error) => void,
  ) {
    calls.handle('actor.deliver', (from, body) => this.received(from, body as DeliverBody));
  }

  /** The node's actor system, built after this (it takes this as its remote port). */
  attach(system: ActorSystem): void {
    this.system = system;
  }

  tell(node: string, envelope: Envelope): void {
    this.deliver(node, envelope, false, TELL_TIMEOUT_MS).catch((e: Error) => this.undelivered(envelope, e));
  }

  ask(node: string, envelope: Envelope, timeoutMs: number): Promise<unknown> {
    return this.deliver(node, envelope, true, timeoutMs);
  }

  private async deliver(node: string, envelope: Envelope, ask: boolean, timeoutMs: number): Promise<unknown> {
    const id = `${this.nodeId}:${this.incarnation}:${++this.counter}`;
    const deadline = this.clock.now() + timeoutMs;
    let target = node;
    let delayMs = FIRST_RETRY_MS;
    let last = 'not tried';
    for (;;) {
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) throw new ActorDeliveryTimeoutError(envelope, timeoutMs, last);
      let answer: Answer | undefined;
      if (target === this.nodeId) {
        try {
          if (!this.system) throw new NotShardOwnerError(envelope.shard, undefined);
          return await this.system.receiveRemote(envelope, ask, remaining);
        } catch (e) {
          if (!(e instanceof NotShardOwnerError)) throw e;
          last = `this node does not own shard ${envelope.shard}`;
        }
      } else {
        try {
          const body: DeliverBody = { id, envelope, ask, timeoutMs: Math.max(1, Math.round(remaining)) };
          answer = await this.calls.request<Answer>(target, 'actor.deliver', body, Math.max(1, Math.round(Math.min(remaining, ATTEMPT_TIMEOUT_MS))));
        } catch (e) {
          last = `${target}: ${(e as Error).message}`;
        }
        if (answer?.outcome === 'delivered') return answer.reply;
        if (answer?.outcome === 'failed') throw new Error(answer.reason);
        if (answer?.outcome === 'moved') last = `${target} does not own shard ${envelope.shard}`;
      }
      target = this.nextTarget(envelope, target, answer);
      await this.pause(Math.min(delayMs, Math.max(0, deadline - this.clock.now())));
      delayMs = Math.min(delayMs * 2, MAX_RETRY_MS);
    }
  }

  /** Our own map first (it follows the cluster's); the receiver's word when ours still names it. */
  private nextTarget(envelope: Envelope, tried: string, answer: Answer | undefined): string {
    const mapped = this.system?.locate(envelope.key)?.node;
    if (mapped && mapped !== tried) return mapped;
    if (answer?.outcome === 'moved' && answer.owner) return answer.owner;
    return mapped ?? tried;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimer(ms, resolve));
  }

  private received(from: string, body: DeliverBody): Promise<Answer> {
    this.forgetOld();
    const key = `${from}|${body.id}`;
    const known = this.seen.get(key);
    if (known) return known.answer;
    const answer = this.apply(body);
    this.seen.set(key, { at: this.clock.now(), answer });
    // Not applied here: the sender tries elsewhere, and may come back once this node owns the shard.
    void answer.then((a) => {
      if (a.outcome === 'moved') this.seen.delete(key);
    });
    return answer;
  }

  private async apply(body: DeliverBody): Promise<Answer> {
    if (!this.system) return { outcome: 'moved' };
    try {
      const reply = await this.system.receiveRemote(body.envelope, body.ask, body.timeoutMs);
      return { outcome: 'delivered', reply: body.ask ? reply : undefined };
    } catch (e) {
      if (e instanceof NotShardOwnerError) return { outcome: 'moved', owner: e.owner };
      return { outcome: 'failed', reason: (e as Error).message };
    }
  }

  private forgetOld(): void {
    const horizon = this.clock.now() - DEDUP_WINDOW_MS;
    for (const [key, entry] of this.seen) {
      if (entry.at >= horizon) break;
      this.seen.delete(key);
    }
  }
}
