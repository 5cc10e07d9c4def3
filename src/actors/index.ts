/**
 * The actor runtime's door: mailbox actors with activation, passivation, supervision and shard
 * routing, and delivery to actors on other nodes over a wire the caller supplies.
 */
export { ActorSystem, DEFAULT_SUPERVISION } from './system.js';
export type { ActorSystemOptions } from './system.js';
export { RemoteDelivery } from './remote-delivery.js';
export type { ActorWire, RemoteAnswer, RemoteDeliveryOptions, RemoteMessage } from './remote-delivery.js';
export { shardOf, fnv1a, singleNodeShardMap, SHARD_COUNT } from './shard.js';
export {
  ActorDeliveryTimeoutError,
  AskTimeoutError,
  ActorStoppedError,
  ActorSystemClosedError,
  NoRouteError,
  NodePinnedKindError,
  NotShardOwnerError,
  UnknownActorKindError,
} from './errors.js';
export type {
  Actor,
  ActorContext,
  ActorFactory,
  ActorFailure,
  ActorRef,
  Envelope,
  KindOptions,
  KindPlacement,
  RemoteSend,
  ShardMap,
  ShardOwner,
  SupervisionPolicy,
} from './types.js';
