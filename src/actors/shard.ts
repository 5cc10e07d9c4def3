/**
 * Keys hash onto a fixed number of shards; shards (not actors) are what the cluster places on nodes.
 * The hash must never change between releases, or actors would move on upgrade.
 */
import type { ShardMap, ShardOwner } from './types.js';

export const DEFAULT_SHARD_COUNT = 256;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a over the key's UTF-8 bytes. */
export function fnv1a(key: string): number {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

export function shardOf(key: string, shardCount = DEFAULT_SHARD_COUNT): number {
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new RangeError(`shardCount must be a positive integer, got ${shardCount}`);
  }
  return fnv1a(key) % shardCount;
}

/** A cluster of one: this node owns every shard at one epoch. */
export function singleNodeShardMap(node: string, epoch = 1): ShardMap {
  const owner: ShardOwner = { node, epoch };
  return { ownerOf: () => owner };
}

/** A shard map held in memory, for tests and for the cluster room to feed from its replicated state. */
export class StaticShardMap implements ShardMap {
  private readonly owners = new Map<number, ShardOwner>();

  constructor(private readonly fallback?: ShardOwner) {}

  assign(shard: number, owner: ShardOwner): void {
    this.owners.set(shard, { ...owner });
  }

  ownerOf(shard: number): ShardOwner | undefined {
    return this.owners.get(shard) ?? this.fallback;
  }
}
