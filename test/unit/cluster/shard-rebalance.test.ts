/**
 * Evening out the shards between live coordinators: a bounded number of moves per call, from the
 * most-loaded to the least-loaded, until no two differ by more than one; deterministic; a dead
 * node's shards still move at once, whatever the budget; the budget refills with elapsed time.
 */
import { describe, expect, it } from 'vitest';
import { SHARD_COUNT } from '../../../src/actors/index.js';
import {
  ClusterState,
  DEFAULT_REBALANCE_SHARDS_PER_SECOND,
  RebalanceBudget,
  encodeCommand,
  placeShards,
  rebalanceShards,
  shardsBalanced,
  type Assignment,
  type Member,
  type ShardOwnership,
} from '../../../src/cluster/index.js';

const voter = (node: string, raftId: number): Member => ({ node, raftId, address: `${node}:4001`, role: 'coordinator', standing: 'voter' });
const members = [voter('a', 1), voter('b', 2), voter('c', 3)];
const everyShard = (owner: (shard: number) => ShardOwnership) => new Map(Array.from({ length: SHARD_COUNT }, (_, s) => [s, owner(s)] as const));
const loads = (map: ReadonlyMap<number, ShardOwnership>) => [...map.values()].reduce<Record<string, number>>((c, o) => ({ ...c, [o.node]: (c[o.node] ?? 0) + 1 }), {});
const applied = (map: ReadonlyMap<number, ShardOwnership>, moves: Assignment[]) => {
  const next = new Map(map);
  for (const m of moves) next.set(m.shard, { node: m.node, epoch: m.epoch });
  return next;
};
/** a and b share every shard; c has just joined with none. */
const joined = () => everyShard((s) => ({ node: s % 2 === 0 ? 'a' : 'b', epoch: 2 }));

describe('rebalanceShards', () => {
  it('moves at most maxMoves shards per call, to the coordinator that has fewest, at the next epoch', () => {
    const out = rebalanceShards({ map: joined(), members, alive: () => true, stored: [], maxMoves: 5 });
    expect(out).toHaveLength(5);
    expect(out.every((a) => a.node === 'c' && a.epoch === 3)).toBe(true);
    // Taken from the most-loaded in turn (ties to the smaller node id), lowest shard first.
    expect(out.map((a) => a.shard)).toEqual([0, 1, 2, 3, 4]);
    expect(rebalanceShards({ map: joined(), members, alive: () => true, stored: [], maxMoves: 0 })).toEqual([]);
    expect(rebalanceShards({ map: joined(), members, alive: () => true, stored: [], maxMoves: 2.9 })).toHaveLength(2);
  });

  it('converges to ⌊256/k⌋ or ⌈256/k⌉ each after enough calls, and then moves nothing', () => {
    let map: ReadonlyMap<number, ShardOwnership> = joined();
    let calls = 0;
    let moved = 0;
    for (;;) {
      const out = rebalanceShards({ map, members, alive: () => true, stored: [], maxMoves: 16 });
      if (out.length === 0) break;
      expect(out.length).toBeLessThanOrEqual(16);
      expect(new Set(out.map((a) => a.shard)).size).toBe(out.length);
      map = applied(map, out);
      moved += out.length;
      calls++;
    }
    // c needed 85 (256 = 86 + 85 + 85): the fewest moves there are, in ⌈85/16⌉ calls.
    expect(moved).toBe(85);
    expect(calls).toBe(6);
    // a gave first (a tie goes to the smaller id), so b keeps the odd one.
    expect(loads(map)).toEqual({ a: 85, b: 86, c: 85 });
    expect(shardsBalanced({ map, members, alive: () => true })).toBe(true);
  });

  it('moves nothing when no two live coordinators differ by more than one', () => {
    const map = everyShard((s) => ({ node: ['a', 'b', 'c'][s % 3]!, epoch: 2 }));
    expect(loads(map)).toEqual({ a: 86, b: 85, c: 85 });
    expect(shardsBalanced({ map, members, alive: () => true })).toBe(true);
    expect(rebalanceShards({ map, members, alive: () => true, stored: [], maxMoves: 256 })).toEqual([]);
    // One over by two is not balanced, and one move settles it.
    const skewed = applied(map, [{ shard: 1, node: 'a', epoch: 3 }]);
    expect(shardsBalanced({ map: skewed, members, alive: () => true })).toBe(false);
    expect(rebalanceShards({ map: skewed, members, alive: () => true, stored: [], maxMoves: 256 })).toEqual([{ shard: 0, node: 'b', epoch: 3 }]);
    // A cluster of one has nothing to even out.
    expect(rebalanceShards({ map: joined(), members: [voter('a', 1)], alive: () => true, stored: [], maxMoves: 16 })).toEqual([]);
  });

  it('is deterministic: the order members are listed in does not matter', () => {
    const map = everyShard((s) => ({ node: s < 150 ? 'b' : s < 250 ? 'c' : 'a', epoch: 1 + (s % 4) }));
    const run = (list: Member[]) => rebalanceShards({ map, members: list, alive: () => true, stored: [], maxMoves: 40 });
    const first = run(members);
    expect(first).toHaveLength(40);
    expect(run([...members].reverse())).toEqual(first);
    expect(run([members[1]!, members[2]!, members[0]!])).toEqual(first);
  });

  it('moves at an epoch above the map\'s and the database\'s', () => {
    const stored = [{ shard: 0, node: 'a', epoch: 9 }];
    const out = rebalanceShards({ map: joined(), members, alive: () => true, stored, maxMoves: 2 });
    expect(out).toEqual([
      { shard: 0, node: 'c', epoch: 10 },
      { shard: 1, node: 'c', epoch: 3 },
    ]);
  });

  it('neither gives to nor takes from a dead coordinator, a learner or a worker', () => {
    const worker: Member = { node: 'w', raftId: 9, address: 'w:4001', role: 'worker', standing: 'worker' };
    const learner: Member = { ...voter('d', 4), standing: 'learner' };
    const all = [...members, worker, learner];
    // c is dead: a and b are even between themselves, d still replays the log, w never owns.
    const out = rebalanceShards({ map: joined(), members: all, alive: (n) => n !== 'c', stored: [], maxMoves: 16 });
    expect(out).toEqual([]);
    // Once d is promoted it gets shards.
    const promoted = rebalanceShards({ map: joined(), members: [...members, worker, voter('d', 4)], alive: (n) => n !== 'c', stored: [], maxMoves: 16 });
    expect(new Set(promoted.map((a) => a.node))).toEqual(new Set(['d']));
  });
});

describe('the leader\'s loop: placement at once, evening out within the budget', () => {
  /** What ClusterNode.placeShards does each chore, over a ClusterState that applies the batch. */
  const chore = (state: ClusterState, budget: RebalanceBudget, now: number, alive: (n: string) => boolean) => {
    const input = { map: state.shardOwners(), members: state.memberList(), alive, stored: [] };
    let assignments = placeShards(input);
    const rebalancing = assignments.length === 0;
    if (rebalancing) {
      assignments = rebalanceShards({ ...input, maxMoves: budget.available(now) });
      budget.spend(assignments.length);
    }
    if (assignments.length > 0) expect(state.apply(encodeCommand({ type: 'shards_assigned', assignments }))).toEqual({ applied: true });
    return { placed: rebalancing ? 0 : assignments.length, moved: rebalancing ? assignments.length : 0 };
  };
  const cluster = (nodes: string[]) => {
    const state = new ClusterState();
    nodes.forEach((node, i) => {
      state.apply(encodeCommand({ type: 'member_added', node, raftId: i + 1, address: `${node}:4001`, role: 'coordinator' }));
      state.apply(encodeCommand({ type: 'member_promoted', node }));
    });
    return state;
  };

  it('gives a joiner its share a bounded number a second, and reclaims a dead node\'s shards at once', () => {
    const state = cluster(['a', 'b']);
    const budget = new RebalanceBudget(DEFAULT_REBALANCE_SHARDS_PER_SECOND, 0);
    let now = 0;
    let up = new Set(['a', 'b']);
    const alive = (n: string) => up.has(n);
    expect(chore(state, budget, now, alive).placed).toBe(SHARD_COUNT);
    expect(loads(state.shardOwners())).toEqual({ a: 128, b: 128 });

    // c joins (and is promoted); the leader's chores run every 200 ms.
    state.apply(encodeCommand({ type: 'member_added', node: 'c', raftId: 3, address: 'c:4001', role: 'coordinator' }));
    state.apply(encodeCommand({ type: 'member_promoted', node: 'c' }));
    up = new Set(['a', 'b', 'c']);
    const joinedAt = now;
    let moved = 0;
    while (!shardsBalanced({ map: state.shardOwners(), members: state.memberList(), alive })) {
      now += 200;
      const step = chore(state, budget, now, alive);
      expect(step.placed).toBe(0);
      moved += step.moved;
      // Never ahead of the rate: the bucket started empty and refills only with time.
      expect(moved).toBeLessThanOrEqual(((now - joinedAt) * DEFAULT_REBALANCE_SHARDS_PER_SECOND) / 1000 + 1e-9);
      expect(now).toBeLessThan(10_000);
    }
    expect(moved).toBe(85);
    // 85 shards at 16 a second: a little over five seconds.
    expect(now).toBeGreaterThanOrEqual(5_200);
    expect(now).toBeLessThanOrEqual(5_600);
    expect(loads(state.shardOwners())).toEqual({ a: 85, b: 86, c: 85 });

    // c dies with the bucket empty: its 85 shards move in the very next chore.
    budget.spend(budget.available(now));
    up = new Set(['a', 'b']);
    now += 200;
    const reclaim = chore(state, new RebalanceBudget(0, now), now, alive);
    expect(reclaim).toEqual({ placed: 85, moved: 0 });
    expect(loads(state.shardOwners())).toEqual({ a: 128, b: 128 });
  });
});

describe('RebalanceBudget', () => {
  it('starts empty and refills with elapsed time, up to one second\'s worth', () => {
    const budget = new RebalanceBudget(10, 1_000);
    expect(budget.burst).toBe(10);
    expect(budget.available(1_000)).toBe(0);
    expect(budget.available(1_099)).toBe(0);
    expect(budget.available(1_100)).toBe(1);
    expect(budget.available(1_350)).toBe(3);
    budget.spend(3);
    expect(budget.available(1_350)).toBe(0);
    // The half token left over is kept.
    expect(budget.available(1_400)).toBe(1);
    expect(budget.available(60_000)).toBe(10);
    budget.spend(4);
    expect(budget.available(60_000)).toBe(6);
  });

  it('adds nothing when the clock steps back, and counts from where it was', () => {
    const budget = new RebalanceBudget(10, 5_000);
    expect(budget.available(4_000)).toBe(0);
    expect(budget.available(5_050)).toBe(0);
    expect(budget.available(5_100)).toBe(1);
  });

  it('floors to whole moves without losing fractions to floating point', () => {
    const budget = new RebalanceBudget(16, 0);
    let now = 0;
    let total = 0;
    for (let i = 0; i < 50; i++) {
      now += 200;
      const n = budget.available(now);
      budget.spend(n);
      total += n;
    }
    // 50 × 200 ms = 10 s at 16 a second.
    expect(total).toBe(160);
  });

  it('takes a burst, allows nothing at a rate of 0, and refuses nonsense', () => {
    const burst = new RebalanceBudget(4, 0, 1);
    expect(burst.available(10_000)).toBe(1);
    const off = new RebalanceBudget(0, 0);
    expect(off.available(1_000_000)).toBe(0);
    expect(() => new RebalanceBudget(-1, 0)).toThrow(RangeError);
    expect(() => new RebalanceBudget(Number.NaN, 0)).toThrow(RangeError);
    expect(() => new RebalanceBudget(4, 0, 0)).toThrow(RangeError);
  });
});
