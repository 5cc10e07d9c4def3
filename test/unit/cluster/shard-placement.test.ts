/**
 * Where the leader puts shards: the database's owners adopted for a new map, a dead coordinator's
 * shards spread over the live ones at epochs above anything seen, and nothing moved between live
 * nodes.
 */
import { describe, expect, it } from 'vitest';
import { SHARD_COUNT } from '../../../src/actors/index.js';
import { placeShards, type Member, type ShardOwnership } from '../../../src/cluster/index.js';

const coordinator = (node: string, raftId: number): Member => ({ node, raftId, address: `${node}:4001`, role: 'coordinator', standing: 'voter' });
const members = [coordinator('a', 1), coordinator('b', 2), coordinator('c', 3)];
const everyShard = (owner: (shard: number) => ShardOwnership) => new Map(Array.from({ length: SHARD_COUNT }, (_, s) => [s, owner(s)] as const));
const counts = (assignments: { node: string }[]) => assignments.reduce<Record<string, number>>((c, a) => ({ ...c, [a.node]: (c[a.node] ?? 0) + 1 }), {});

describe('placeShards', () => {
  it('adopts what the database records for a new map, at the recorded epoch', () => {
    const stored = Array.from({ length: SHARD_COUNT }, (_, shard) => ({ shard, node: 'a', epoch: 7 }));
    const out = placeShards({ map: new Map(), members, alive: () => true, stored });
    expect(out).toHaveLength(SHARD_COUNT);
    expect(out.every((a) => a.node === 'a' && a.epoch === 7)).toBe(true);
  });

  it('gives a shard with no recorded owner, or one owned by a stranger, to a live coordinator at the next epoch', () => {
    const stored = [{ shard: 0, node: 'gone', epoch: 4 }];
    const out = placeShards({ map: new Map(), members: [coordinator('a', 1)], alive: () => true, stored });
    expect(out.find((a) => a.shard === 0)).toEqual({ shard: 0, node: 'a', epoch: 5 });
    expect(out.find((a) => a.shard === 1)).toEqual({ shard: 1, node: 'a', epoch: 1 });
  });

  it('moves nothing while every owner is alive', () => {
    const map = everyShard((s) => ({ node: ['a', 'b', 'c'][s % 3]!, epoch: 2 }));
    expect(placeShards({ map, members, alive: () => true, stored: [] })).toEqual([]);
  });

  it('spreads a dead owner\'s shards over the live coordinators, above the map\'s and the database\'s epochs', () => {
    const map = everyShard(() => ({ node: 'a', epoch: 3 }));
    const stored = [{ shard: 9, node: 'a', epoch: 8 }];
    const out = placeShards({ map, members, alive: (n) => n !== 'a', stored });
    expect(out).toHaveLength(SHARD_COUNT);
    expect(out.every((a) => a.node !== 'a')).toBe(true);
    expect(counts(out)).toEqual({ b: SHARD_COUNT / 2, c: SHARD_COUNT / 2 });
    expect(out.find((a) => a.shard === 9)!.epoch).toBe(9);
    expect(out.filter((a) => a.shard !== 9).every((a) => a.epoch === 4)).toBe(true);
  });

  it('fills the lightest live node first', () => {
    const map = everyShard((s) => ({ node: s < 200 ? 'b' : s < 240 ? 'a' : 'c', epoch: 1 }));
    const out = placeShards({ map, members, alive: (n) => n !== 'a', stored: [] });
    // c held 16, b 200: all 40 of a's go to c until it catches up, which it never does here.
    expect(counts(out)).toEqual({ c: 40 });
  });

  it('never places on a worker or a non-member, and places nothing when no coordinator is alive', () => {
    const worker: Member = { node: 'w', raftId: 9, address: 'w:4001', role: 'worker', standing: 'worker' };
    const out = placeShards({ map: new Map(), members: [coordinator('a', 1), worker], alive: () => true, stored: [] });
    expect(new Set(out.map((a) => a.node))).toEqual(new Set(['a']));
    expect(placeShards({ map: new Map(), members, alive: () => false, stored: [] })).toEqual([]);
  });
});

describe('shards_assigned', () => {
  it('applies all of its assignments or none of them', async () => {
    const { ClusterState, encodeCommand } = await import('../../../src/cluster/index.js');
    const state = new ClusterState();
    state.apply(encodeCommand({ type: 'member_added', node: 'a', raftId: 1, address: 'a:4001', role: 'coordinator' }));
    expect(state.apply(encodeCommand({ type: 'shards_assigned', assignments: [{ shard: 0, node: 'a', epoch: 2 }, { shard: 1, node: 'a', epoch: 2 }] }))).toEqual({ applied: true });
    // One stale epoch refuses the whole batch: shard 2 is not taken either.
    const refused = state.apply(encodeCommand({ type: 'shards_assigned', assignments: [{ shard: 2, node: 'a', epoch: 1 }, { shard: 0, node: 'a', epoch: 2 }] }));
    expect(refused).toMatchObject({ applied: false, reason: expect.stringContaining('shard 0 is at epoch 2') });
    expect(state.shardOwner(2)).toBeUndefined();
    expect(state.apply(encodeCommand({ type: 'shards_assigned', assignments: [{ shard: 3, node: 'a', epoch: 1 }, { shard: 3, node: 'a', epoch: 2 }] }))).toMatchObject({ applied: false });
    expect(state.apply(encodeCommand({ type: 'shards_assigned', assignments: [{ shard: 4, node: 'stranger', epoch: 1 }] }))).toMatchObject({ applied: false });
  });
});
