/**
 * The membership steward over real ClusterRaft nodes on one ManualClock, their messages carried by
 * an in-memory network (1 ms per message) that can cut a node off.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import { type ClusterCommand, ClusterRaft, MembershipSteward } from '../../../src/cluster/index.js';
import { type ConfState, MemoryStorage, type Message, type NodeId } from '../../../src/raft/index.js';

class Net {
  readonly clock = new ManualClock();
  readonly nodes = new Map<NodeId, ClusterRaft>();
  /** Nodes whose messages, both ways, are lost. */
  readonly cut = new Set<NodeId>();
  /** Messages that reached each node. */
  readonly deliveredTo = new Map<NodeId, number>();

  start(id: NodeId, conf?: ConfState): ClusterRaft {
    const rnd = new SeededRandom(id * 101);
    const node = new ClusterRaft({
      raftId: id,
      storage: new MemoryStorage(conf),
      clock: this.clock,
      random: () => rnd.next(),
      send: (msgs) => msgs.forEach((m) => this.route(m)),
    });
    this.nodes.set(id, node);
    return node;
  }

  private route(m: Message): void {
    this.clock.setTimer(1, () => {
      if (this.cut.has(m.to) || this.cut.has(m.from)) return;
      const to = this.nodes.get(m.to);
      if (!to) return;
      this.deliveredTo.set(m.to, (this.deliveredTo.get(m.to) ?? 0) + 1);
      to.receive(m);
    });
  }

  /** Advance virtual time 1 ms at a time until `p` settles (it must within `maxMs`). */
  async settle<T>(p: Promise<T>, maxMs = 2000): Promise<T> {
    let done = false;
    const watched = p.finally(() => (done = true));
    for (let ms = 0; ms < maxMs && !done; ms++) {
      this.clock.advance(1);
      await flush();
    }
    if (!done) throw new Error(`did not settle within ${maxMs} ms of virtual time`);
    return watched;
  }

  stopAll(): void {
    for (const n of this.nodes.values()) n.stop();
  }
}

/** Let every promise callback that is ready run. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const silent = { info: () => {}, warn: () => {} };

function recording(): { info: (f: object, m: string) => void; warn: (f: object, m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (_f, m) => lines.push(`info: ${m}`), warn: (_f, m) => lines.push(`warn: ${m}`) };
}

const coordinator = (node: string, raftId: number): ClusterCommand => ({ type: 'member_added', node, raftId, address: `${node}.local:4001`, role: 'coordinator' });

/** Steps the steward (advancing time while each step's proposal commits) until `done` holds. */
async function stepUntil(net: Net, steward: MembershipSteward, done: () => boolean, maxSteps = 20): Promise<number> {
  for (let i = 0; i < maxSteps; i++) {
    if (done()) return i;
    await net.settle(steward.step());
    net.clock.advance(10);
    await flush();
  }
  if (done()) return maxSteps;
  throw new Error('the steward did not get there');
}

/** A founder (raft id 1, alone, leading) whose state lists itself and a coordinator joiner `b` (raft id 2). */
async function founderWithJoiner(): Promise<{ net: Net; leader: ClusterRaft }> {
  const net = new Net();
  const leader = net.start(1, { voters: [1], learners: [] });
  expect(leader.status().role).toBe('leader');
  await expect(net.settle(leader.propose(coordinator('a', 1)))).resolves.toMatchObject({ applied: true });
  await expect(net.settle(leader.propose(coordinator('b', 2)))).resolves.toMatchObject({ applied: true });
  return { net, leader };
}

describe('MembershipSteward', () => {
  it('does nothing on a node that does not lead', async () => {
    const net = new Net();
    const leader = net.start(1, { voters: [1], learners: [] });
    await net.settle(leader.propose(coordinator('a', 1)));
    await net.settle(leader.propose(coordinator('b', 2)));
    const follower = net.start(2); // empty joiner: not a leader
    const before = follower.status();
    const log = recording();
    await new MembershipSteward(follower, log).step();
    expect(follower.status().conf).toEqual(before.conf);
    expect(follower.status().lastIndex).toBe(before.lastIndex);
    expect(log.lines).toEqual([]);
    net.stopAll();
  });

  it('marks the leader itself a voter in the state, then adds a coordinator joiner as a learner', async () => {
    const { net, leader } = await founderWithJoiner();
    const log = recording();
    const steward = new MembershipSteward(leader, log);
    expect(leader.state.member('a')?.standing).toBe('learner'); // as member_added left it
    await stepUntil(net, steward, () => leader.status().conf.learners.includes(2));
    expect(leader.state.member('a')?.standing).toBe('voter');
    expect(leader.status().conf).toMatchObject({ voters: [1], learners: [2] });
    expect(log.lines).toContain('info: joiner added to Raft as a learner');
    net.stopAll();
  });

  it('never promotes a learner that has never answered', async () => {
    const { net, leader } = await founderWithJoiner();
    const steward = new MembershipSteward(leader, silent);
    await stepUntil(net, steward, () => leader.status().conf.learners.includes(2));
    // Node 2 is not running at all: nothing it could answer with. Many steps, much time.
    for (let i = 0; i < 30; i++) {
      await net.settle(steward.step());
      net.clock.advance(100);
      await flush();
    }
    const status = leader.status();
    expect(status.conf.voters).toEqual([1]);
    expect(status.conf.learners).toEqual([2]);
    expect(status.match[2] ?? 0).toBe(0);
    expect(leader.state.member('b')?.standing).toBe('learner');
    net.stopAll();
  });

  it('never promotes a learner cut off from the network, and promotes it once it answers', async () => {
    const { net, leader } = await founderWithJoiner();
    const steward = new MembershipSteward(leader, silent);
    await stepUntil(net, steward, () => leader.status().conf.learners.includes(2));
    const joiner = net.start(2);
    net.cut.add(2);
    for (let i = 0; i < 30; i++) {
      await net.settle(steward.step());
      net.clock.advance(100);
      await flush();
    }
    expect(net.deliveredTo.get(2) ?? 0).toBe(0);
    expect(leader.status().conf).toMatchObject({ voters: [1], learners: [2] });
    expect(leader.state.member('b')?.standing).toBe('learner');

    // Connected: it catches up (a snapshot, then the log), acknowledges, and is promoted.
    net.cut.delete(2);
    await stepUntil(net, steward, () => leader.state.member('b')?.standing === 'voter', 40);
    expect(leader.status().conf.voters).toEqual([1, 2]);
    expect(leader.status().conf.learners).toEqual([]);
    expect(leader.status().match[2]).toBeGreaterThan(0);
    // The joiner holds the same state, its own promotion included.
    net.clock.advance(50);
    await flush();
    expect(joiner.state.member('b')?.standing).toBe('voter');
    expect(joiner.state.snapshot()).toEqual(leader.state.snapshot());
    expect(joiner.status().conf.voters).toEqual([1, 2]);
    net.stopAll();
  });

  it('takes a removed member out of the Raft configuration', async () => {
    const { net, leader } = await founderWithJoiner();
    const steward = new MembershipSteward(leader, silent);
    const joiner = net.start(2);
    await stepUntil(net, steward, () => leader.state.member('b')?.standing === 'voter', 40);
    expect(leader.status().conf.voters).toEqual([1, 2]);

    await expect(net.settle(leader.propose({ type: 'member_removed', node: 'b' }))).resolves.toMatchObject({ applied: true });
    expect(leader.state.wasRemoved(2)).toBe(true);
    expect(leader.status().conf.voters).toEqual([1, 2]); // the state changed; the conf not yet
    await stepUntil(net, steward, () => !leader.status().conf.voters.includes(2) && !leader.status().conf.learners.includes(2));
    expect(leader.status().conf.voters).toEqual([1]);
    expect(leader.status().conf.removed).toContain(2);
    // And it is never added back, though the steward keeps stepping.
    for (let i = 0; i < 5; i++) await net.settle(steward.step());
    expect(leader.status().conf).toMatchObject({ voters: [1], learners: [] });
    expect(joiner.status().role).not.toBe('leader');
    net.stopAll();
  });

  it('takes a removed learner out as well', async () => {
    const { net, leader } = await founderWithJoiner();
    const steward = new MembershipSteward(leader, silent);
    await stepUntil(net, steward, () => leader.status().conf.learners.includes(2));
    await net.settle(leader.propose({ type: 'member_removed', node: 'b' }));
    await stepUntil(net, steward, () => !leader.status().conf.learners.includes(2));
    expect(leader.status().conf).toMatchObject({ voters: [1], learners: [] });
    net.stopAll();
  });

  it('leaves workers out of the Raft configuration', async () => {
    const net = new Net();
    const leader = net.start(1, { voters: [1], learners: [] });
    await net.settle(leader.propose(coordinator('a', 1)));
    await net.settle(leader.propose({ type: 'member_added', node: 'w', raftId: 5, address: 'w.local:4001', role: 'worker' }));
    const steward = new MembershipSteward(leader, silent);
    await stepUntil(net, steward, () => leader.state.member('a')?.standing === 'voter');
    const lastIndex = leader.status().lastIndex;
    for (let i = 0; i < 5; i++) await net.settle(steward.step());
    expect(leader.status().conf).toMatchObject({ voters: [1], learners: [] });
    expect(leader.status().lastIndex).toBe(lastIndex);
    net.stopAll();
  });
});
