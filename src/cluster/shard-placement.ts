/**
 * Where shards go, decided by the leader: every shard has an owner in the replicated map, and a
 * coordinator found dead loses its shards to the live ones. Pure: the leader hands in the map, the
 * members, who is alive and what the database last recorded; it gets back the assignments to
 * propose (each at an epoch above the shard's last, so the old owner's writes are fenced).
 *
 * - A shard the map does not name yet (a new cluster, or the first leader after an upgrade) goes
 *   to the owner the database recorded, at the recorded epoch, when that owner is a live
 *   coordinator; otherwise to a live coordinator at the next epoch.
 * - A dead coordinator's shards are spread over the live coordinators, fewest-owned first.
 * Both are immediate and unbounded (orphans must move in well under 2 s). Evening out the shards
 * between live coordinators, a bounded number a second, is shard-rebalance.ts.
 */
import { SHARD_COUNT } from '../actors/index.js';
import type { Member, ShardOwnership } from './cluster-state.js';

export interface StoredShard {
  shard: number;
  node: string;
  epoch: number;
}

export interface PlacementInput {
  /** The replicated map: shard → owner and epoch. */
  map: ReadonlyMap<number, ShardOwnership>;
  members: readonly Member[];
  /** Is this coordinator alive, as the leader sees it (itself included)? */
  alive(node: string): boolean;
  /** What the database records, for shards the map does not name yet. */
  stored: readonly StoredShard[];
}

export interface Assignment {
  shard: number;
  node: string;
  epoch: number;
}

export function placeShards(input: PlacementInput): Assignment[] {
  const live = input.members.filter((m) => m.role === 'coordinator' && input.alive(m.node)).map((m) => m.node);
  if (live.length === 0) return [];
  const load = new Map(live.map((n) => [n, 0]));
  for (const owner of input.map.values()) if (load.has(owner.node)) load.set(owner.node, load.get(owner.node)! + 1);
  const lightest = (): string => {
    let best = live[0];
    for (const n of live) if (load.get(n)! < load.get(best)!) best = n;
    load.set(best, load.get(best)! + 1);
    return best;
  };
  const stored = new Map(input.stored.map((s) => [s.shard, s]));
  const out: Assignment[] = [];
  for (let shard = 0; shard < SHARD_COUNT; shard++) {
    const owner = input.map.get(shard);
    const recorded = stored.get(shard);
    if (owner) {
      // Above the map's epoch and the database's: the new owner's raise must go through.
      if (!load.has(owner.node)) out.push({ shard, node: lightest(), epoch: Math.max(owner.epoch, recorded?.epoch ?? 0) + 1 });
      continue;
    }
    if (recorded && load.has(recorded.node)) {
      load.set(recorded.node, load.get(recorded.node)! + 1);
      out.push({ shard, node: recorded.node, epoch: recorded.epoch });
    } else {
      out.push({ shard, node: lightest(), epoch: (recorded?.epoch ?? 0) + 1 });
    }
  }
  return out;
}
