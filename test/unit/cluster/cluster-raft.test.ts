import { describe, it, expect, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import { ClusterRaft } from '../../../src/cluster/index.js';
import { FileStorage, type ConfState, type Message, type NodeId } from '../../../src/raft/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Cluster nodes on one ManualClock, each on its own real log directory; messages take 1 ms. */
class Mesh {
  readonly clock = new ManualClock();
  readonly nodes = new Map<NodeId, ClusterRaft>();
  readonly storages = new Map<NodeId, FileStorage>();
  readonly dirs = new Map<NodeId, string>();
  readonly down = new Set<NodeId>();

  start(id: NodeId, conf?: ConfState): ClusterRaft {
    let dir = this.dirs.get(id);
    if (!dir) {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `kici-cluster-${id}-`));
      dirs.push(dir);
      this.dirs.set(id, dir);
    }
    const storage = new FileStorage(dir, conf ? { conf } : {});
    const rnd = new SeededRandom(id * 31 + this.nodes.size);
    const node = new ClusterRaft({
      raftId: id,
      storage,
      clock: this.clock,
      random: () => rnd.next(),
      snapshotEvery: 5,
      send: (msgs) => msgs.forEach((m) => this.route(m)),
    });
    this.nodes.set(id, node);
    this.storages.set(id, storage);
    this.down.delete(id);
    return node;
  }

  kill(id: NodeId): void {
    this.nodes.get(id)!.stop();
    this.storages.get(id)!.close();
    this.down.add(id);
  }

  private route(m: Message): void {
    this.clock.setTimer(1, () => {
      if (!this.down.has(m.to) && !this.down.has(m.from)) this.nodes.get(m.to)?.receive(m);
    });
  }

  /** Three voters on a fresh cluster; returns its leader once one leads. */
  startThree(): ClusterRaft {
    const conf = { voters: [1, 2, 3], learners: [] };
    for (const id of [1, 2, 3]) this.start(id, conf);
    return this.leader();
  }

  /** Let `ms` of virtual time pass (messages take 1 ms), then wait for `p`. */
  settle<T>(p: Promise<T>, ms = 5): Promise<T> {
    this.clock.advance(ms);
    return p;
  }

  leader(): ClusterRaft {
    for (let i = 0; i < 100; i++) {
      const l = [...this.nodes.entries()].find(([id, n]) => !this.down.has(id) && n.leadership().isLeader());
      if (l) return l[1];
      this.clock.advance(50);
    }
    throw new Error('no leader');
  }
}

const member = (node: string, raftId: number) =>
  ({ type: 'member_added', node, raftId, address: `${node}.local:4001`, role: 'coordinator' }) as const;

describe('the cluster state over Raft', () => {
  it('a node alone leads the moment it starts, and again after a restart', async () => {
    const mesh = new Mesh();
    const solo = mesh.start(1, { voters: [1], learners: [] });
    expect(solo.leadership().isLeader()).toBe(true);
    expect(mesh.clock.now()).toBe(0);
    await expect(solo.propose(member('a', 1))).resolves.toMatchObject({ applied: true });
    mesh.kill(1);
    const again = mesh.start(1);
    expect(again.leadership().isLeader()).toBe(true);
    expect(again.state.member('a')?.raftId).toBe(1);
  });

  it('three nodes agree on the state; a restarted one recovers it from its own disk', async () => {
    const mesh = new Mesh();
    const leader = mesh.startThree();
    for (const [i, node] of ['a', 'b', 'c'].entries()) {
      await expect(mesh.settle(leader.propose(member(node, i + 1)))).resolves.toMatchObject({ applied: true });
    }
    for (let shard = 0; shard < 8; shard++) await mesh.settle(leader.propose({ type: 'shard_assigned', shard, node: 'b', epoch: 2 }));
    const refused = mesh.settle(leader.propose({ type: 'shard_assigned', shard: 0, node: 'c', epoch: 2 }));
    await expect(refused).resolves.toMatchObject({ applied: false, reason: 'shard 0 is at epoch 2 already' });
    mesh.clock.advance(100);
    const image = leader.state.snapshot();
    for (const id of [1, 2, 3]) expect(mesh.nodes.get(id)!.state.snapshot()).toEqual(image);

    const follower = [1, 2, 3].find((id) => mesh.nodes.get(id) !== leader)!;
    mesh.kill(follower);
    const back = mesh.start(follower);
    expect(back.state.snapshot()).toEqual(image);
  });

  it('a joiner starts empty, is added as a learner, promoted, and holds the same state', async () => {
    const mesh = new Mesh();
    const leader = mesh.startThree();
    for (const [i, node] of ['a', 'b', 'c'].entries()) await mesh.settle(leader.propose(member(node, i + 1)));
    await mesh.settle(leader.addLearner(4));
    const joiner = mesh.start(4);
    mesh.clock.advance(200);
    await mesh.settle(leader.promote(4), 50);
    expect(joiner.status().conf).toEqual(leader.status().conf);
    expect(joiner.status().conf.voters).toEqual([1, 2, 3, 4]);
    expect(joiner.state.snapshot()).toEqual(leader.state.snapshot());
  });
});
