/**
 * Actors across nodes: the actor system's `RemoteSend` port over a wire between nodes that the
 * caller supplies (the orchestrator's peer links, the simulator's mesh), so both run this code. An
 * envelope goes to the node that owns its shard and comes back acknowledged (a tell) or answered
 * (an ask). What the wire loses is sent again until the deadline: a dropped link, a timeout, a
 * full queue. A node that does not own the shard answers "moved", and the sender looks the owner
 * up again in its own map (which follows the cluster's), or takes the receiver's word when its map
 * has not caught up. The receiver remembers message ids for a while, so a message that arrives
 * twice is applied once, and a resent ask gets the first answer. Order holds while a link holds
 * (the wire keeps it); a message sent again may arrive after a later one.
 */
import type { Clock } from '../clock/index.js';
import { ActorDeliveryTimeoutError, NotShardOwnerError } from './errors.js';
import type { ActorSystem } from './system.js';
import type { Envelope, RemoteSend } from './types.js';

/** One message on the wire: the envelope, the id every resend keeps, and what the sender waits for. */
export interface RemoteMessage extends Envelope {
  /** Unique per message and sender, across the sender's restarts. */
  id: string;
  /** The sending node, for the record: the receiver trusts the wire's word for who sent it, not this. */
  from: string;
  /** A reply is wanted (an ask), or only the acknowledgement (a tell). */
  ask: boolean;
  /** How long the sender still waits, ms. */
  timeoutMs: number;
}

/** What became of a message at the node it reached. */
export type RemoteAnswer =
  | { outcome: 'delivered'; reply: unknown }
  /** The receiver does not own the shard; `owner` is who it thinks does, when it knows. */
  | { outcome: 'moved'; owner?: string }
  /** Delivered, and the actor failed it (an ask's handler threw): final, not retried. */
  | { outcome: 'failed'; reason: string };

/** Port: the wire that carries actor messages between nodes. Checking what arrives is the wire's job. */
export interface ActorWire {
  /** One try; rejects when the wire lost it (link down, no answer within `timeoutMs`, queue full). */
  request(node: string, message: RemoteMessage, timeoutMs: number): Promise<RemoteAnswer>;
  /** Answer what other nodes send; `from` is the sender as the wire knows it. Returns a detach. */
  handle(receive: (from: string, message: RemoteMessage) => Promise<RemoteAnswer>): () => void;
}

export interface RemoteDeliveryOptions {
  wire: ActorWire;
  nodeId: string;
  /**
   * What sets this process apart from the node's earlier ones (a random boot id, a restart count):
   * message ids carry it, or a receiver would take a restarted sender's new message for one it saw.
   */
  incarnation: string;
  /** Deadlines, retry pauses and the receiver's memory of ids run on it. */
  clock: Clock;
  /** The node's actor system, reached late (it is built with this as its remote port); undefined until then. */
  system(): ActorSystem | undefined;
  /** How long a tell keeps trying (default 30 s). */
  tellTimeoutMs?: number;
  /** How long a receiver remembers a message id (default 5 min; longer than any sender tries). */
  dedupWindowMs?: number;
  /** A tell given up on: the caller's dead-letter hook. */
  onUndelivered?(envelope: Envelope, reason: Error): void;
  /** Each try sent to another node (a metric). */
  onForwarded?(): void;
}

/**
 * One try waits at most this long for its answer; the message's deadline bounds them all. Short,
 * so a frame lost on a link that stayed up is sent again soon: a resend of a message still being
 * handled gets the same answer (the receiver keeps it by id), so trying again costs little.
 */
const ATTEMPT_TIMEOUT_MS = 1_000;
const FIRST_RETRY_MS = 20;
const MAX_RETRY_MS = 1_000;
const TELL_TIMEOUT_MS = 30_000;
const DEDUP_WINDOW_MS = 300_000;
/** Ids remembered at most, whatever the window: the oldest are forgotten first. */
const MAX_REMEMBERED = 100_000;

export class RemoteDelivery implements RemoteSend {
  private counter = 0;
  private readonly seen = new Map<string, { at: number; answer: Promise<RemoteAnswer> }>();
  private readonly detach: () => void;

  constructor(private readonly o: RemoteDeliveryOptions) {
    this.detach = o.wire.handle((from, message) => this.received(from, message));
  }

  tell(node: string, envelope: Envelope): void {
    this.deliver(node, envelope, false, this.o.tellTimeoutMs ?? TELL_TIMEOUT_MS).catch((e: Error) => this.o.onUndelivered?.(envelope, e));
  }

  ask(node: string, envelope: Envelope, timeoutMs: number): Promise<unknown> {
    return this.deliver(node, envelope, true, timeoutMs);
  }

  /** Stop answering other nodes and forget what they sent; messages still on their way keep trying. */
  close(): void {
    this.detach();
    this.seen.clear();
  }

  // ---- sending --------------------------------------------------------------------------------

  private async deliver(node: string, envelope: Envelope, ask: boolean, timeoutMs: number): Promise<unknown> {
    const id = `${this.o.nodeId}:${this.o.incarnation}:${++this.counter}`;
    const deadline = this.o.clock.now() + timeoutMs;
    let target = node;
    let delayMs = FIRST_RETRY_MS;
    let last = 'not tried';
    for (;;) {
      const remaining = deadline - this.o.clock.now();
      if (remaining <= 0) throw new ActorDeliveryTimeoutError(envelope, timeoutMs, last);
      let answer: RemoteAnswer | undefined;
      if (target === this.o.nodeId) {
        try {
          const system = this.o.system();
          if (!system) throw new NotShardOwnerError(envelope.shard, undefined);
          return await system.receiveRemote(envelope, ask, remaining);
        } catch (e) {
          // Our map sent it back here while this node is not (or no longer) the owner: look again.
          if (!(e instanceof NotShardOwnerError)) throw e;
          last = `this node does not own shard ${envelope.shard}`;
        }
      } else {
        const message: RemoteMessage = { id, from: this.o.nodeId, ...envelope, ask, timeoutMs: Math.max(1, Math.round(remaining)) };
        this.o.onForwarded?.();
        try {
          answer = await this.o.wire.request(target, message, Math.max(1, Math.round(Math.min(remaining, ATTEMPT_TIMEOUT_MS))));
        } catch (e) {
          last = `${target}: ${(e as Error).message}`;
        }
        if (answer?.outcome === 'delivered') return answer.reply;
        if (answer?.outcome === 'failed') throw new Error(answer.reason);
        if (answer?.outcome === 'moved') last = `${target} does not own shard ${envelope.shard}`;
      }
      target = this.nextTarget(envelope, target, answer);
      await this.pause(Math.min(delayMs, Math.max(0, deadline - this.o.clock.now())));
      delayMs = Math.min(delayMs * 2, MAX_RETRY_MS);
    }
  }

  /** Our own map first (it follows the cluster's); the receiver's word when ours still names it. */
  private nextTarget(envelope: Envelope, tried: string, answer: RemoteAnswer | undefined): string {
    const mapped = this.o.system()?.locate(envelope.key)?.node;
    if (mapped && mapped !== tried) return mapped;
    if (answer?.outcome === 'moved' && answer.owner) return answer.owner;
    return mapped ?? tried;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.o.clock.setTimer(ms, resolve));
  }

  // ---- receiving ------------------------------------------------------------------------------

  private received(from: string, message: RemoteMessage): Promise<RemoteAnswer> {
    this.forgetOld();
    // Keyed by the wire's sender, not the id it chose: one node cannot shadow another's messages.
    const key = `${from}|${message.id}`;
    const known = this.seen.get(key);
    if (known) return known.answer;
    const answer = this.apply(message);
    this.seen.set(key, { at: this.o.clock.now(), answer });
    // Not applied here: the sender will try elsewhere, and may come back once this node owns the shard.
    void answer.then((a) => {
      if (a.outcome === 'moved') this.seen.delete(key);
    });
    return answer;
  }

  private async apply(message: RemoteMessage): Promise<RemoteAnswer> {
    const envelope: Envelope = { kind: message.kind, key: message.key, shard: message.shard, epoch: message.epoch, msg: message.msg };
    const system = this.o.system();
    // Still starting: the sender tries again (a 'failed' answer would be final).
    if (!system) return { outcome: 'moved' };
    try {
      const reply = await system.receiveRemote(envelope, message.ask, message.timeoutMs);
      return { outcome: 'delivered', reply: message.ask ? reply : undefined };
    } catch (e) {
      if (e instanceof NotShardOwnerError) return { outcome: 'moved', owner: e.owner };
      return { outcome: 'failed', reason: (e as Error).message };
    }
  }

  private forgetOld(): void {
    const horizon = this.o.clock.now() - (this.o.dedupWindowMs ?? DEDUP_WINDOW_MS);
    for (const [key, entry] of this.seen) {
      if (entry.at >= horizon && this.seen.size < MAX_REMEMBERED) break;
      this.seen.delete(key);
    }
  }
}
