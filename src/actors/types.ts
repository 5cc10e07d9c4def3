/**
 * The vocabulary of the actor runtime: refs, contexts, actors, and the two ports that make sends
 * location-transparent (who owns a shard, and how to reach another node). Nothing here knows what
 * the actors do.
 */
import type { Clock } from '../clock/index.js';
import type { ActorSystem } from './system.js';

/** A handle to a virtual actor; valid whether or not the actor is active, and on any node. */
export interface ActorRef<M = unknown> {
  readonly kind: string;
  readonly key: string;
  /** Fire and forget; messages from one sender arrive in the order they were told. */
  tell(msg: M): void;
  /** Send and wait for the handler's return value; rejects after `timeoutMs` or when the handler throws. */
  ask<R = unknown>(msg: M, timeoutMs: number): Promise<R>;
}

/** What an actor instance gets from the runtime when it is created. */
export interface ActorContext<M = unknown> {
  readonly kind: string;
  readonly key: string;
  readonly shard: number;
  /** The shard epoch this activation runs under; stamp it on every write so the store can fence. */
  readonly epoch: number;
  readonly self: ActorRef<M>;
  readonly system: ActorSystem;
  readonly clock: Clock;
  /**
   * Deliver `msg` to this actor after `ms`. Pending schedules keep the actor from passivating and
   * are dropped when it deactivates (a restarted actor re-arms what it needs from its store).
   */
  schedule(ms: number, msg: M): () => void;
}

export interface Actor<M = unknown> {
  /** Load state before the first message of an activation. A throw counts as a failure of that message. */
  onActivate?(): void | Promise<void>;
  /** Handle one message; the next one waits until the returned promise settles. */
  receive(msg: M): unknown;
  /** Called when the actor is deactivated after an idle period or at shutdown (not after a crash). */
  onPassivate?(): void | Promise<void>;
  /** Return false to stay active past the idle timeout (for example while work is in flight). */
  canPassivate?(): boolean;
}

export type ActorFactory<M = unknown> = (ctx: ActorContext<M>) => Actor<M>;

export interface ShardOwner {
  node: string;
  epoch: number;
}

/** Port: who owns a shard right now (the Raft-replicated shard map, or a fixed map for a cluster of one). */
export interface ShardMap {
  ownerOf(shard: number): ShardOwner | undefined;
}

/** A message on its way to an actor on another node. */
export interface Envelope {
  kind: string;
  key: string;
  shard: number;
  /** The epoch the sender believed the owner to have. */
  epoch: number;
  msg: unknown;
}

/** Port: hand an envelope to another node (the peer mesh implements it). */
export interface RemoteSend {
  tell(node: string, envelope: Envelope): void;
  ask(node: string, envelope: Envelope, timeoutMs: number): Promise<unknown>;
}

/** What the supervision hook is told when a handler or activation throws. */
export interface ActorFailure {
  kind: string;
  key: string;
  error: unknown;
  /** Restarts counted inside the supervision window, this one included. */
  restarts: number;
  /** True when this failure made the actor a poison actor that is now stopped. */
  stopped: boolean;
  phase: 'activate' | 'receive' | 'passivate';
}

export interface SupervisionPolicy {
  /** First restart delay; doubles per restart inside the window. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** More restarts than this inside `windowMs` stops the actor. */
  maxRestarts: number;
  windowMs: number;
}

/**
 * Where a kind's actors live. 'shard': on the owner of the key's shard, found from any node.
 * 'node': on the node that sends to them, always; for actors that own something that exists only
 * here (a socket). Their context epoch is 0: they write nothing a shard epoch could fence.
 */
export type KindPlacement = 'shard' | 'node';

export interface KindOptions<M = unknown> {
  /** Default 'shard'. */
  placement?: KindPlacement;
  /** Passivate after this long without messages (default: the system's). */
  idleTimeoutMs?: number;
  /**
   * Told to the actor once its restart backoff has passed after a failure, so an actor with work in
   * flight (timers, pending decisions) comes back without waiting for someone else's message.
   */
  wakeAfterFailure?: M;
}
