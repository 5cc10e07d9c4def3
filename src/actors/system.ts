/**
 * The actor system of one node: a registry of actor kinds, the cells of the actors active here,
 * and location-transparent routing (local cell when this node owns the key's shard at the current
 * epoch, otherwise the injected remote sender).
 */
import type { Clock } from '../clock/index.js';
import { ActorCell } from './cell.js';
import {
  ActorSystemClosedError,
  AskTimeoutError,
  NoRouteError,
  NodePinnedKindError,
  NotShardOwnerError,
  UnknownActorKindError,
} from './errors.js';
import { SHARD_COUNT, shardOf, singleNodeShardMap } from './shard.js';
import type {
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

export interface ActorSystemOptions {
  /** This node's id, as it appears in the shard map. */
  nodeId: string;
  clock: Clock;
  shardCount?: number;
  /** Defaults to a cluster of one: every shard owned by `nodeId` at epoch 1. */
  shardMap?: ShardMap;
  remote?: RemoteSend;
  /** Default idle time before an actor passivates (60 s). */
  idleTimeoutMs?: number;
  supervision?: Partial<SupervisionPolicy>;
  /** Supervision hook: every handler or activation failure is reported here. */
  onError?: (failure: ActorFailure) => void;
  /** A told message that could not be delivered (no route, stopped actor, closed system). */
  onDeadLetter?: (target: { kind: string; key: string }, msg: unknown, reason: Error) => void;
}

export const DEFAULT_SUPERVISION: SupervisionPolicy = {
  backoffBaseMs: 100,
  backoffMaxMs: 10_000,
  maxRestarts: 5,
  windowMs: 60_000,
};

interface Kind {
  factory: ActorFactory<never>;
  idleTimeoutMs: number;
  wakeAfterFailure: unknown;
  placement: KindPlacement;
}

// The epoch a node-pinned actor runs under: no shard owns it, so there is nothing to fence.
const PINNED_EPOCH = 0;

export class ActorSystem {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly shardCount: number;
  private readonly shardMap: ShardMap;
  private readonly kinds = new Map<string, Kind>();
  private readonly cells = new Map<string, ActorCell>();
  private readonly policy: SupervisionPolicy;
  private closed = false;

  constructor(private readonly options: ActorSystemOptions) {
    this.nodeId = options.nodeId;
    this.clock = options.clock;
    this.shardCount = options.shardCount ?? SHARD_COUNT;
    this.shardMap = options.shardMap ?? singleNodeShardMap(options.nodeId);
    this.policy = { ...DEFAULT_SUPERVISION, ...options.supervision };
  }

  register<M>(kind: string, factory: ActorFactory<M>, options: KindOptions<M> = {}): void {
    if (this.kinds.has(kind)) throw new Error(`actor kind "${kind}" is already registered`);
    this.kinds.set(kind, {
      factory: factory as ActorFactory<never>,
      idleTimeoutMs: options.idleTimeoutMs ?? this.options.idleTimeoutMs ?? 60_000,
      wakeAfterFailure: options.wakeAfterFailure,
      placement: options.placement ?? 'shard',
    });
  }

  ref<M = unknown>(kind: string, key: string): ActorRef<M> {
    return {
      kind,
      key,
      tell: (msg) => this.tell(kind, key, msg),
      ask: <R>(msg: M, timeoutMs: number) => this.ask(kind, key, msg, timeoutMs) as Promise<R>,
    };
  }

  shardOf(key: string): number {
    return shardOf(key, this.shardCount);
  }

  /** Where a key's actor lives right now, or undefined when its shard has no owner. */
  locate(key: string): ShardOwner | undefined {
    return this.shardMap.ownerOf(this.shardOf(key));
  }

  /** Entry point for the peer mesh: an envelope another node routed here. */
  receiveRemote(envelope: Envelope, expectReply: boolean, timeoutMs = 30_000): Promise<unknown> {
    if (this.closed) return Promise.reject(new ActorSystemClosedError());
    const spec = this.kinds.get(envelope.kind);
    if (!spec) return Promise.reject(new UnknownActorKindError(envelope.kind));
    // A pinned actor on this node is not the one the sender's node would have: it owns a local thing.
    if (spec.placement === 'node') return Promise.reject(new NodePinnedKindError(envelope.kind));
    // The shard comes from the key, not the envelope: a confused sender must not bypass ownership.
    const shard = this.shardOf(envelope.key);
    const owner = this.shardMap.ownerOf(shard);
    if (owner?.node !== this.nodeId) return Promise.reject(new NotShardOwnerError(shard, owner?.node));
    if (!expectReply) {
      this.deliverLocal(envelope.kind, envelope.key, envelope.msg, owner.epoch);
      return Promise.resolve(undefined);
    }
    return this.askLocal(envelope.kind, envelope.key, envelope.msg, owner.epoch, timeoutMs);
  }

  isActive(kind: string, key: string): boolean {
    return this.cells.get(cellId(kind, key))?.active ?? false;
  }

  isStopped(kind: string, key: string): boolean {
    return this.cells.get(cellId(kind, key))?.isStopped ?? false;
  }

  activeCount(kind?: string): number {
    let count = 0;
    for (const [id, cell] of this.cells) if (cell.active && (!kind || id.startsWith(`${kind}\u0000`))) count++;
    return count;
  }

  /** Let a stopped (poison) actor take messages again, for an operator's retry. */
  revive(kind: string, key: string): void {
    this.cells.get(cellId(kind, key))?.revive();
  }

  /**
   * This node lost `shard`: its actors here finish the message in hand and passivate. Messages for
   * the shard now route by the shard map (to the new owner); anything they write with the old
   * epoch is refused by the store's fence.
   */
  async passivateShard(shard: number): Promise<void> {
    // Actors pinned to this node (an agent's connection) do not move with shards, whatever their key hashes to.
    const leaving = [...this.cells].filter(([, cell]) => cell.shard === shard && this.kinds.get(cell.kind)?.placement !== 'node');
    for (const [id] of leaving) this.cells.delete(id);
    await Promise.all(leaving.map(([, cell]) => cell.passivate()));
  }

  /** Refuse new messages, let every actor finish its mailbox, then passivate them all. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.cells.values()].map((cell) => cell.passivate()));
    this.cells.clear();
  }

  private tell(kind: string, key: string, msg: unknown): void {
    const route = this.route(kind, key);
    if (route instanceof Error) return this.deadLetter(kind, key, msg, route);
    if (route.local) return this.deliverLocal(kind, key, msg, route.owner.epoch);
    this.options.remote!.tell(route.owner.node, this.envelope(kind, key, msg, route.owner.epoch));
  }

  private ask(kind: string, key: string, msg: unknown, timeoutMs: number): Promise<unknown> {
    const route = this.route(kind, key);
    if (route instanceof Error) return Promise.reject(route);
    if (route.local) return this.askLocal(kind, key, msg, route.owner.epoch, timeoutMs);
    const envelope = this.envelope(kind, key, msg, route.owner.epoch);
    return this.options.remote!.ask(route.owner.node, envelope, timeoutMs);
  }

  private route(kind: string, key: string): Error | { local: boolean; owner: ShardOwner } {
    if (this.closed) return new ActorSystemClosedError();
    const spec = this.kinds.get(kind);
    if (!spec) return new UnknownActorKindError(kind);
    if (spec.placement === 'node') return { local: true, owner: { node: this.nodeId, epoch: PINNED_EPOCH } };
    const owner = this.locate(key);
    if (!owner) return new NoRouteError(kind, key, undefined);
    if (owner.node === this.nodeId) return { local: true, owner };
    if (!this.options.remote) return new NoRouteError(kind, key, owner.node);
    return { local: false, owner };
  }

  private deliverLocal(kind: string, key: string, msg: unknown, epoch: number): void {
    this.cell(kind, key).post(msg, epoch);
  }

  private askLocal(kind: string, key: string, msg: unknown, epoch: number, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let settled = false;
      // The message stays queued after a timeout: an ask is a tell whose answer may be ignored.
      const cancel = this.clock.setTimer(timeoutMs, () => {
        if (settled) return;
        settled = true;
        reject(new AskTimeoutError(kind, key, timeoutMs));
      });
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        cancel();
        fn();
      };
      this.cell(kind, key).post(msg, epoch, {
        resolve: (value) => settle(() => resolve(value)),
        reject: (error) => settle(() => reject(error)),
      });
    });
  }

  private cell(kind: string, key: string): ActorCell {
    const id = cellId(kind, key);
    let cell = this.cells.get(id);
    if (!cell) {
      const spec = this.kinds.get(kind)!;
      cell = new ActorCell({
        kind,
        key,
        shard: this.shardOf(key),
        factory: spec.factory as ActorFactory,
        clock: this.clock,
        system: this,
        self: this.ref(kind, key),
        idleTimeoutMs: spec.idleTimeoutMs,
        wakeAfterFailure: spec.wakeAfterFailure,
        policy: this.policy,
        onError: (failure) => this.options.onError?.(failure),
        onDeadLetter: (msg, reason) => this.deadLetter(kind, key, msg, reason),
        onIdle: (idle) => {
          if (this.cells.get(id) === idle) this.cells.delete(id);
        },
      });
      this.cells.set(id, cell);
    }
    return cell;
  }

  private envelope(kind: string, key: string, msg: unknown, epoch: number): Envelope {
    return { kind, key, shard: this.shardOf(key), epoch, msg };
  }

  private deadLetter(kind: string, key: string, msg: unknown, reason: Error): void {
    this.options.onDeadLetter?.({ kind, key }, msg, reason);
  }
}

function cellId(kind: string, key: string): string {
  return `${kind}\u0000${key}`;
}
