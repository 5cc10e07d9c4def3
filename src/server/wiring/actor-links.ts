/**
 * Actors across nodes: the actor system's `RemoteSend` port over the peer links. An envelope goes
 * to the node that owns its shard as an `actor.deliver` request and comes back acknowledged (a
 * tell) or answered (an ask). What the wire loses is sent again until the deadline: a dropped
 * link, a timeout, a full queue. A node that does not own the shard answers "moved", and the
 * sender looks the owner up again in its own map (which follows the cluster's), or takes the
 * receiver's word when its map has not caught up. The receiver remembers message ids for a while,
 * so a message that arrives twice is applied once, and a resent ask gets the first answer. Order
 * holds while a link holds (the links keep it); a message sent again may arrive after a later one.
 */
import { randomBytes } from 'node:crypto';
import { NotShardOwnerError, type ActorSystem, type Envelope, type RemoteSend } from '../../actors/index.js';
import type { Clock } from '../../clock/index.js';
import type { ActorDeliverAnswer, ActorEnvelopeBody, ActorKinds, PeerIdentity, PeerLinks } from '../../transport/index.js';

export interface ActorLinksOptions {
  links: PeerLinks;
  kinds: ActorKinds;
  nodeId: string;
  clock: Clock;
  /** The node's actor system, reached late (it is built with this as its remote port); undefined until then. */
  system(): ActorSystem | undefined;
  /** How long a tell keeps trying (default 30 s). */
  tellTimeoutMs?: number;
  /** How long a receiver remembers a message id (default 5 min; longer than any sender tries). */
  dedupWindowMs?: number;
  /** A tell given up on: the caller's dead-letter hook. */
  onUndelivered?(envelope: Envelope, reason: Error): void;
  /** Each message sent to another node (a metric). */
  onForwarded?(): void;
  /** Is this certificate a current member's? Messages from any other are refused. */
  trusted?(from: PeerIdentity): boolean;
}

/**
 * One try waits at most this long for its answer; the message's deadline bounds them all. Short,
 * so a frame lost on a link that stayed up is sent again soon: a resend of a message still being
 * handled gets the same answer (the receiver keeps it by id), so trying again costs little.
 */
const ATTEMPT_TIMEOUT_MS = 1_000;
const FIRST_RETRY_MS = 20;
const MAX_RETRY_MS = 1_000;
/** Ids remembered at most, whatever the window: the oldest are forgotten first. */
const MAX_REMEMBERED = 100_000;

export class ActorDeliveryTimeoutError extends Error {
  constructor(envelope: Envelope, timeoutMs: number, last: string) {
    super(`no owner of ${envelope.kind}/${envelope.key} took the message within ${timeoutMs} ms (${last})`);
    this.name = 'ActorDeliveryTimeoutError';
  }
}

export class ActorLinks implements RemoteSend {
  private readonly boot = randomBytes(4).toString('hex');
  private counter = 0;
  private readonly seen = new Map<string, { at: number; answer: Promise<ActorDeliverAnswer> }>();
  private readonly detach: () => void;

  constructor(private readonly o: ActorLinksOptions) {
    this.detach = o.links.handle(o.kinds.deliver, (from, body) => {
      if (!(o.trusted?.(from) ?? true)) return { outcome: 'failed' as const, reason: 'not a member of the cluster' };
      return this.received(from.nodeId, body);
    });
  }

  tell(node: string, envelope: Envelope): void {
    const timeoutMs = this.o.tellTimeoutMs ?? 30_000;
    this.deliver(node, envelope, false, timeoutMs).catch((e: Error) => this.o.onUndelivered?.(envelope, e));
  }

  ask(node: string, envelope: Envelope, timeoutMs: number): Promise<unknown> {
    return this.deliver(node, envelope, true, timeoutMs);
  }

  close(): void {
    this.detach();
    this.seen.clear();
  }

  // ---- sending --------------------------------------------------------------------------------

  private async deliver(node: string, envelope: Envelope, ask: boolean, timeoutMs: number): Promise<unknown> {
    const id = `${this.o.nodeId}:${this.boot}:${++this.counter}`;
    const deadline = this.o.clock.now() + timeoutMs;
    let target = node;
    let delayMs = FIRST_RETRY_MS;
    let last = 'not tried';
    for (;;) {
      const remaining = deadline - this.o.clock.now();
      if (remaining <= 0) throw new ActorDeliveryTimeoutError(envelope, timeoutMs, last);
      if (target === this.o.nodeId) {
        try {
          const system = this.o.system();
          if (!system) throw new NotShardOwnerError(envelope.shard, undefined);
          return await system.receiveRemote(envelope, ask, remaining);
        } catch (e) {
          // Our map sent it back here while this node is not (or no longer) the owner: look again.
          if (!(e instanceof NotShardOwnerError)) throw e;
          last = `this node does not own shard ${envelope.shard}`;
          target = this.nextTarget(envelope, target, undefined);
          await this.pause(Math.min(delayMs, Math.max(0, deadline - this.o.clock.now())));
          delayMs = Math.min(delayMs * 2, MAX_RETRY_MS);
          continue;
        }
      }
      const body: ActorEnvelopeBody = { id, from: this.o.nodeId, ...envelope, ask, timeoutMs: Math.max(1, Math.round(remaining)) };
      this.o.onForwarded?.();
      let answer: ActorDeliverAnswer | undefined;
      try {
        answer = await this.o.links.request(target, this.o.kinds.deliver, body, { timeoutMs: Math.max(1, Math.round(Math.min(remaining, ATTEMPT_TIMEOUT_MS))) });
      } catch (e) {
        last = `${target}: ${(e as Error).message}`;
      }
      if (answer?.outcome === 'delivered') return answer.reply;
      if (answer?.outcome === 'failed') throw new Error(answer.reason);
      if (answer?.outcome === 'moved') last = `${target} does not own shard ${envelope.shard}`;
      target = this.nextTarget(envelope, target, answer);
      await this.pause(Math.min(delayMs, Math.max(0, deadline - this.o.clock.now())));
      delayMs = Math.min(delayMs * 2, MAX_RETRY_MS);
    }
  }

  /** Our own map first (it follows the cluster's); the receiver's word when ours still names it. */
  private nextTarget(envelope: Envelope, tried: string, answer: ActorDeliverAnswer | undefined): string {
    const mapped = this.o.system()?.locate(envelope.key)?.node;
    if (mapped && mapped !== tried) return mapped;
    if (answer?.outcome === 'moved' && answer.owner) return answer.owner;
    return mapped ?? tried;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.o.clock.setTimer(ms, resolve));
  }

  // ---- receiving ------------------------------------------------------------------------------

  private received(from: string, body: ActorEnvelopeBody): Promise<ActorDeliverAnswer> {
    this.forgetOld();
    // Keyed by the link's sender, not the id it chose: one node cannot shadow another's messages.
    const key = `${from}|${body.id}`;
    const known = this.seen.get(key);
    if (known) return known.answer;
    const answer = this.apply(body);
    this.seen.set(key, { at: this.o.clock.now(), answer });
    // Not applied here: the sender will try elsewhere, and may come back once this node owns the shard.
    void answer.then((a) => {
      if (a.outcome === 'moved') this.seen.delete(key);
    });
    return answer;
  }

  private async apply(body: ActorEnvelopeBody): Promise<ActorDeliverAnswer> {
    const envelope: Envelope = { kind: body.kind, key: body.key, shard: body.shard, epoch: body.epoch, msg: body.msg };
    const system = this.o.system();
    // Still starting: the sender tries again (a 'failed' answer would be final).
    if (!system) return { outcome: 'moved' };
    try {
      const reply = await system.receiveRemote(envelope, body.ask, body.timeoutMs);
      return { outcome: 'delivered', reply: body.ask ? reply : undefined };
    } catch (e) {
      if (e instanceof NotShardOwnerError) return { outcome: 'moved', owner: e.owner };
      return { outcome: 'failed', reason: (e as Error).message };
    }
  }

  private forgetOld(): void {
    const horizon = this.o.clock.now() - (this.o.dedupWindowMs ?? 300_000);
    for (const [id, entry] of this.seen) {
      if (entry.at >= horizon && this.seen.size < MAX_REMEMBERED) break;
      this.seen.delete(id);
    }
  }
}
