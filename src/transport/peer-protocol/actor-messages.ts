/**
 * Actor messages between nodes: one request kind, `actor.deliver`, carries an envelope to the
 * node that owns the target's shard and comes back with what became of it. A tell is a deliver
 * whose reply is only the acknowledgement, so a tell lost on a dropped link is sent again; the
 * message id lets the receiver apply each message once however often it arrives.
 */
import { z } from 'zod';
import type { PeerKinds, PeerRequestKind } from './kinds.js';

export const ACTOR_DELIVER_KIND = 'actor.deliver';

export const actorEnvelopeBody = z.strictObject({
  /** Unique per message and sender: `<node>:<counter>`; a resend keeps it. */
  id: z.string().min(1).max(200),
  from: z.string().min(1).max(64),
  kind: z.string().min(1).max(100),
  key: z.string().min(1).max(500),
  shard: z.number().int().min(0),
  /** The owner's epoch as the sender saw it. */
  epoch: z.number().int().min(0),
  /** A reply is wanted (an ask), or only the acknowledgement (a tell). */
  ask: z.boolean(),
  /** How long the sender still waits, ms. */
  timeoutMs: z.number().int().min(1).max(600_000),
  msg: z.unknown(),
});
export type ActorEnvelopeBody = z.infer<typeof actorEnvelopeBody>;

export const actorDeliverAnswer = z.discriminatedUnion('outcome', [
  z.strictObject({ outcome: z.literal('delivered'), reply: z.unknown() }),
  /** The receiver does not own the shard; `owner` is who it thinks does, when it knows. */
  z.strictObject({ outcome: z.literal('moved'), owner: z.string().optional() }),
  /** Delivered, and the actor failed it (an ask's handler threw): final, not retried. */
  z.strictObject({ outcome: z.literal('failed'), reason: z.string() }),
]);
export type ActorDeliverAnswer = z.infer<typeof actorDeliverAnswer>;

export type ActorKinds = { deliver: PeerRequestKind<ActorEnvelopeBody, ActorDeliverAnswer> };

/** Register the actor kind on a node's registry (once, before its links start). */
export function registerActorKinds(kinds: PeerKinds): ActorKinds {
  return { deliver: kinds.request(ACTOR_DELIVER_KIND, actorEnvelopeBody, actorDeliverAnswer) };
}
