/**
 * Keys hash onto a fixed number of shards; shards (not actors) are what the cluster places on nodes.
 * The hash must never change between releases, or actors would move on upgrade.
 */
import type { ShardMap, ShardOwner } from './types.js';

/**
 * The cluster's one shard count. It is part of the hash (`fnv1a(key) % SHARD_COUNT`), so it is
 * fixed for the life of a cluster like the hash itself; the shard table and the store's shard rows
 * use this same number.
 */
export const SHARD_COUNT = 256;

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

export function shardOf(key: string, shardCount = SHARD_COUNT): number {
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
