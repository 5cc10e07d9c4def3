/**
 * Evening out the shards between live coordinators, a few at a time. Placement (shard-placement.ts)
 * gives every shard an owner and takes a dead coordinator's shards away at once; this moves shards
 * from the most-loaded live coordinator to the least-loaded until every one owns ⌊n/k⌋ or ⌈n/k⌉ of
 * the n shards they hold between them (k of them), so that a node that joins gets its share.
 *
 * It is gradual on purpose: every move passivates the shard's actors on the loser, and the gainer
 * raises the shard's row (waiting for the loser's writes) and re-activates every unfinished run in
 * it from the store. Moving a third of the shards at once would stall a third of the runs and hit
 * the database with all their reloads together; a few a second keeps each stall short and the load
 * flat. The leader spends a `RebalanceBudget` refilled by elapsed clock time.
 *
 * Pure and deterministic (coordinators ordered by node id, shards by number): the same map gives
 * the same moves, so the simulator replays them.
 */
import type { Member, ShardOwnership } from './cluster-state.js';
import type { Assignment, StoredShard } from './shard-placement.js';

/** Shards moved between live coordinators per second, at most, unless configured otherwise. */
export const DEFAULT_REBALANCE_SHARDS_PER_SECOND = 16;

export interface RebalanceInput {
  /** The replicated map: shard → owner and epoch. */
  map: ReadonlyMap<number, ShardOwnership>;
  members: readonly Member[];
  /** Is this coordinator alive, as the leader sees it (itself included)? */
  alive(node: string): boolean;
  /** What the database records: a move's epoch is above the map's and the database's. */
  stored: readonly StoredShard[];
  /** How many shards may move in this call (whole moves; the rest is ignored). */
  maxMoves: number;
}

/**
 * The coordinators that take part: alive, and voters (a joiner gets shards once it has caught up
 * with the log and been promoted, not while it is still replaying it). Sorted by node id.
 */
function participants(members: readonly Member[], alive: (node: string) => boolean): string[] {
  return members
    .filter((m) => m.role === 'coordinator' && m.standing === 'voter' && alive(m.node))
    .map((m) => m.node)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Each participant's shards, ascending. Shards of anyone else are placement's business. */
function holdings(map: ReadonlyMap<number, ShardOwnership>, nodes: readonly string[]): Map<string, number[]> {
  const held = new Map(nodes.map((n) => [n, [] as number[]]));
  for (const [shard, owner] of map) held.get(owner.node)?.push(shard);
  for (const shards of held.values()) shards.sort((a, b) => a - b);
  return held;
}

/** The most and the least loaded, ties to the smaller node id. */
function extremes(held: Map<string, number[]>, nodes: readonly string[]): { heaviest: string; lightest: string } {
  let heaviest = nodes[0];
  let lightest = nodes[0];
  for (const n of nodes) {
    if (held.get(n)!.length > held.get(heaviest)!.length) heaviest = n;
    if (held.get(n)!.length < held.get(lightest)!.length) lightest = n;
  }
  return { heaviest, lightest };
}

/** True when no live coordinator owns more than one shard more than another: nothing to move. */
export function shardsBalanced(input: Pick<RebalanceInput, 'map' | 'members' | 'alive'>): boolean {
  const nodes = participants(input.members, input.alive);
  if (nodes.length < 2) return true;
  const held = holdings(input.map, nodes);
  const { heaviest, lightest } = extremes(held, nodes);
  return held.get(heaviest)!.length - held.get(lightest)!.length <= 1;
}

/**
 * Up to `maxMoves` moves, each of the lowest-numbered shard of the most-loaded live coordinator to
 * the least-loaded one, while they differ by more than one; each at an epoch above the map's and
 * the database's, so the loser's writes are fenced.
 */
export function rebalanceShards(input: RebalanceInput): Assignment[] {
  const nodes = participants(input.members, input.alive);
  const budget = Math.floor(input.maxMoves);
  if (nodes.length < 2 || !(budget > 0)) return [];
  const held = holdings(input.map, nodes);
  const stored = new Map(input.stored.map((s) => [s.shard, s.epoch]));
  const out: Assignment[] = [];
  while (out.length < budget) {
    const { heaviest, lightest } = extremes(held, nodes);
    const from = held.get(heaviest)!;
    const to = held.get(lightest)!;
    if (from.length - to.length <= 1) break;
    // A shard that arrived in this call is never handed on (the batch names each shard once): a
    // gainer stays within one of the lightest, so it never becomes the heaviest.
    const shard = from.shift()!;
    to.push(shard);
    out.push({ shard, node: lightest, epoch: Math.max(input.map.get(shard)!.epoch, stored.get(shard) ?? 0) + 1 });
  }
  return out;
}

/**
 * The leader's allowance of moves: a token bucket filled at `perSecond` by elapsed clock time (a
 * clock that steps back adds nothing), holding at most `burst` (one second's worth by default). It
 * starts empty, so a new leader moves nothing before its first refill, and in any window of t
 * seconds at most `burst + perSecond × t` shards move. `perSecond` 0 turns rebalancing off.
 */
export class RebalanceBudget {
  readonly burst: number;
  private tokens = 0;
  private last: number;

  constructor(
    readonly perSecond: number,
    now: number,
    burst?: number,
  ) {
    if (!Number.isFinite(perSecond) || perSecond < 0) throw new RangeError(`shards per second must be a finite number ≥ 0, not ${perSecond}`);
    this.burst = burst ?? Math.max(1, perSecond);
    if (!Number.isFinite(this.burst) || this.burst < 1) throw new RangeError(`the burst must be a finite number ≥ 1, not ${this.burst}`);
    this.last = now;
  }

  /** Whole moves allowed now. */
  available(now: number): number {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
      this.last = now;
    }
    // The epsilon keeps 0.2 + 0.8 from flooring to 0 in floating point.
    return Math.floor(this.tokens + 1e-9);
  }

  /** Moves made (proposed and applied). */
  spend(moves: number): void {
    this.tokens = Math.max(0, this.tokens - moves);
  }
}
