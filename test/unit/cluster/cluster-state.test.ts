import { describe, it, expect } from 'vitest';
import { ClusterState, encodeCommand, type ClusterCommand } from '../../../src/cluster/index.js';

const apply = (s: ClusterState, c: ClusterCommand) => s.apply(encodeCommand(c));
const raw = (text: string) => new TextEncoder().encode(text);

function twoCoordinators(): ClusterState {
  const s = new ClusterState();
  apply(s, { type: 'member_added', node: 'a', raftId: 1, address: 'a.local:4001', role: 'coordinator', certificateSerial: 'aa01' });
  apply(s, { type: 'member_added', node: 'b', raftId: 2, address: 'b.local:4001', role: 'coordinator' });
  return s;
}

describe('the replicated cluster state', () => {
  it('adds members as learners (workers as workers) and promotes learners only', () => {
    const s = twoCoordinators();
    expect(apply(s, { type: 'member_added', node: 'w', raftId: 3, address: 'w:4001', role: 'worker' })).toEqual({ applied: true });
    expect(s.member('a')?.standing).toBe('learner');
    expect(s.member('w')?.standing).toBe('worker');
    expect(apply(s, { type: 'member_promoted', node: 'a' })).toEqual({ applied: true });
    expect(s.member('a')?.standing).toBe('voter');
    expect(apply(s, { type: 'member_promoted', node: 'w' })).toMatchObject({ applied: false, reason: 'node w is not a learner' });
    expect(apply(s, { type: 'member_added', node: 'a', raftId: 9, address: 'x:1', role: 'coordinator' })).toMatchObject({ applied: false });
  });

  it('records a worker with no address (it is never dialled); only a worker may have none', () => {
    const s = twoCoordinators();
    expect(apply(s, { type: 'member_added', node: 'edge-1', raftId: 3, address: '', role: 'worker' })).toEqual({ applied: true });
    expect(s.member('edge-1')).toMatchObject({ address: '', role: 'worker', standing: 'worker' });
    expect(() => encodeCommand({ type: 'member_added', node: 'c', raftId: 4, address: '', role: 'coordinator' })).toThrow(/only a worker has no address/);
    expect(s.apply(raw('{"type":"member_added","node":"c","raftId":4,"address":"","role":"coordinator"}'))).toMatchObject({ applied: false, reason: expect.stringMatching(/^address: only a worker has no address/) });
    expect(s.apply(raw('{"type":"member_added","node":"c","raftId":4,"address":"nope","role":"worker"}'))).toMatchObject({ applied: false });
    // A member's new address is always one that can be dialled.
    expect(s.apply(raw('{"type":"member_address","node":"edge-1","address":""}'))).toMatchObject({ applied: false });
  });

  it('never hands out a raft id twice, and revokes a removed member\'s certificate', () => {
    const s = twoCoordinators();
    apply(s, { type: 'agent_placed', agent: 'ag1', node: 'a', labels: ['linux'], capacity: 2 });
    expect(apply(s, { type: 'member_removed', node: 'a' })).toEqual({ applied: true });
    expect(s.isRevoked('aa01')).toBe(true);
    expect(s.agent('ag1')).toBeUndefined();
    expect(s.nextRaftId()).toBe(3);
    expect(apply(s, { type: 'member_added', node: 'c', raftId: 1, address: 'c:4001', role: 'coordinator' })).toMatchObject({
      applied: false,
      reason: 'raft id 1 is taken or was used before',
    });
  });

  it('moves a shard only to a higher epoch and only to a coordinator', () => {
    const s = twoCoordinators();
    apply(s, { type: 'member_added', node: 'w', raftId: 3, address: 'w:4001', role: 'worker' });
    expect(apply(s, { type: 'shard_assigned', shard: 7, node: 'a', epoch: 2 })).toEqual({ applied: true });
    expect(apply(s, { type: 'shard_assigned', shard: 7, node: 'b', epoch: 2 })).toMatchObject({ applied: false });
    expect(apply(s, { type: 'shard_assigned', shard: 7, node: 'w', epoch: 3 })).toMatchObject({ applied: false, reason: 'node w is not a coordinator' });
    expect(apply(s, { type: 'shard_assigned', shard: 7, node: 'b', epoch: 3 })).toEqual({ applied: true });
    expect(s.shardOwner(7)).toEqual({ node: 'b', epoch: 3 });
  });

  it('lets only the node holding an agent say it left', () => {
    const s = twoCoordinators();
    apply(s, { type: 'agent_placed', agent: 'ag', node: 'a', labels: [], capacity: 1 });
    apply(s, { type: 'agent_placed', agent: 'ag', node: 'b', labels: [], capacity: 1 });
    expect(apply(s, { type: 'agent_left', agent: 'ag', node: 'a' })).toMatchObject({ applied: false });
    expect(s.agent('ag')?.node).toBe('b');
    expect(apply(s, { type: 'agent_left', agent: 'ag', node: 'b' })).toEqual({ applied: true });
  });

  it('refuses entries that are not commands, the same way every time, without throwing', () => {
    const s = new ClusterState();
    expect(s.apply(raw('not json'))).toEqual({ applied: false, reason: 'not JSON' });
    expect(s.apply(raw('{"type":"shard_assigned","shard":99999,"node":"a","epoch":1}'))).toMatchObject({ applied: false });
    expect(s.apply(raw('{"type":"bogus"}'))).toMatchObject({ applied: false });
  });

  it('round-trips through a snapshot, and refuses a damaged one', () => {
    const s = twoCoordinators();
    apply(s, { type: 'member_removed', node: 'b' });
    apply(s, { type: 'shard_assigned', shard: 1, node: 'a', epoch: 4 });
    apply(s, { type: 'agent_placed', agent: 'ag', node: 'a', labels: ['x'], capacity: 3 });
    apply(s, { type: 'setting_set', key: 'placement.spread', value: 'even' });
    apply(s, { type: 'certificate_revoked', serial: 'ff' });
    const copy = new ClusterState();
    copy.restore(s.snapshot());
    expect(copy.snapshot()).toEqual(s.snapshot());
    expect(copy.nextRaftId()).toBe(3);
    expect(copy.setting('placement.spread')).toBe('even');
    expect(() => copy.restore(raw('{"version":2}'))).toThrow();
    copy.restore(new Uint8Array(0));
    expect(copy.memberList()).toEqual([]);
  });
});
