/**
 * Raft over the real peer links: three nodes with certificates from one cluster CA, TLS on
 * loopback, FileStorage on disk and the real clock. They elect a coordinator, replicate the
 * cluster state, and elect another when the coordinator dies. Waits are on events.
 */
import { describe, it, expect, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { systemClock, systemRandom } from '../../../src/clock/index.js';
import { ClusterRaft } from '../../../src/cluster/index.js';
import { FileStorage } from '../../../src/raft/index.js';
import { PeerKinds, PeerLinks, registerRaftKinds } from '../../../src/transport/index.js';
import { RaftLinks } from '../../../src/server/wiring/raft-links.js';
import { cluster, credentials } from '../transport/peer-links-fixture.js';

interface Node {
  name: string;
  raftId: number;
  links: PeerLinks;
  wire: RaftLinks;
  raft: ClusterRaft;
  storage: FileStorage;
  address: string;
}

const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const names = ['n1', 'n2', 'n3'];
const peers = {
  nodeOf: (raftId: number) => names[raftId - 1],
  raftIdOf: (node: string) => (names.includes(node) ? names.indexOf(node) + 1 : undefined),
};

async function startCluster(): Promise<Node[]> {
  const ca = await cluster('raft-mesh');
  const nodes: Node[] = [];
  for (const [i, name] of names.entries()) {
    const kinds = new PeerKinds();
    const raftKinds = registerRaftKinds(kinds);
    const links = new PeerLinks({ listen: { host: '127.0.0.1', port: 0 }, credentials: await credentials(ca, name), kinds, initialReconnectDelayMs: 10, maxReconnectDelayMs: 200 });
    const bound = await links.start();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kici-mesh-${name}-`));
    const storage = new FileStorage(dir, { conf: { voters: [1, 2, 3], learners: [] } });
    const wire = new RaftLinks({ links, kinds: raftKinds, peers, clock: systemClock });
    const raft = new ClusterRaft({ raftId: i + 1, storage, clock: systemClock, random: () => systemRandom.next(), send: wire.send });
    wire.attach(raft);
    const node = { name, raftId: i + 1, links, wire, raft, storage, address: `127.0.0.1:${bound!.port}` };
    nodes.push(node);
    cleanup.push(async () => {
      raft.stop();
      wire.close();
      await links.close();
      storage.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
  for (const a of nodes) for (const b of nodes) if (a !== b) a.links.addPeer(b.name, b.address);
  return nodes;
}

/** Resolves with the first of `nodes` to become leader, once a read barrier confirms it still is. */
function leaderAmong(nodes: Node[]): Promise<Node> {
  return new Promise((resolve) => {
    const leading = () => nodes.find((n) => n.raft.status().role === 'leader');
    const settle = (l: Node) => {
      offs.forEach((o) => o());
      l.raft.readBarrier().then(
        () => resolve(l),
        () => wait(),
      );
    };
    const offs: (() => void)[] = [];
    const wait = () => {
      const now = leading();
      if (now) return settle(now);
      for (const n of nodes) offs.push(n.raft.leadership().onChange((isLeader) => isLeader && settle(n)));
    };
    wait();
  });
}

function applied(node: Node, pred: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (pred()) return resolve();
    const off = node.raft.onApplied(() => {
      if (!pred()) return;
      off();
      resolve();
    });
  });
}

describe('Raft over the peer links', () => {
  it('three nodes elect a coordinator, replicate the cluster state, and re-elect when it dies', async () => {
    const nodes = await startCluster();
    const leader = await leaderAmong(nodes);
    for (const [i, name] of names.entries()) {
      await expect(leader.raft.propose({ type: 'member_added', node: name, raftId: i + 1, address: nodes[i].address, role: 'coordinator' })).resolves.toMatchObject({ applied: true });
    }
    await leader.raft.propose({ type: 'shard_assigned', shard: 3, node: leader.name, epoch: 2 });
    for (const n of nodes) await applied(n, () => n.raft.state.shardOwner(3)?.node === leader.name);
    const image = leader.raft.state.snapshot();
    for (const n of nodes) expect(n.raft.state.snapshot()).toEqual(image);

    // The coordinator dies: its links close and its Raft stops.
    const rest = nodes.filter((n) => n !== leader);
    leader.raft.stop();
    await leader.links.close();
    const next = await leaderAmong(rest);
    expect(next.raft.status().term).toBeGreaterThan(leader.raft.status().term);
    await expect(next.raft.propose({ type: 'shard_assigned', shard: 3, node: next.name, epoch: 3 })).resolves.toMatchObject({ applied: true });
    const other = rest.find((n) => n !== next)!;
    await applied(other, () => other.raft.state.shardOwner(3)?.node === next.name);
  }, 30_000);
});
