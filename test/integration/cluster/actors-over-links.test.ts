/**
 * Actors across nodes over the real peer links (TLS on loopback): a tell to a key whose shard
 * another node owns reaches that node's actor, an ask comes back with its answer, a message the
 * wire duplicates is applied once, a message sent while the link is cut arrives once it heals,
 * a node that no longer owns the shard answers "moved" so the sender finds the new owner, and a
 * node whose certificate is not a current member's is refused. (The delivery logic itself is the
 * actors room's RemoteDelivery, unit-tested in test/unit/actors/remote-delivery.test.ts.)
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ActorSystem, type ShardMap, type ShardOwner } from '../../../src/actors/index.js';
import type { ClusterCa } from '../../../src/certificates/index.js';
import { systemClock, systemRandom } from '../../../src/clock/index.js';
import { ActorLinks } from '../../../src/server/wiring/actor-links.js';
import { PeerFaults, registerActorKinds, type PeerIdentity } from '../../../src/transport/index.js';
import { allUp, cluster, startNode, type TestNode } from '../transport/peer-links-fixture.js';

/** A shard map the test moves by hand: every shard owned by one node. */
class MovableMap implements ShardMap {
  constructor(public owner: ShardOwner) {}
  ownerOf(): ShardOwner {
    return this.owner;
  }
}

interface Member {
  node: TestNode;
  system: ActorSystem;
  actors: ActorLinks;
  /** What each counter actor on this node received, by key. */
  received: Map<string, number[]>;
}

let ca: ClusterCa;
beforeAll(async () => {
  ca = await cluster('actors');
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function member(id: string, map: ShardMap, faults?: PeerFaults, trusted?: (from: PeerIdentity) => boolean): Promise<Member> {
  const node = await startNode(ca, id, faults ? { faults } : {});
  const kinds = registerActorKinds(node.kinds.registry);
  const received = new Map<string, number[]>();
  let system: ActorSystem | undefined;
  const actors = new ActorLinks({ links: node.links, kinds, nodeId: id, clock: systemClock, system: () => system!, tellTimeoutMs: 10_000, trusted });
  system = new ActorSystem({ nodeId: id, clock: systemClock, shardMap: map, remote: actors });
  system.register<{ add: number } | { total: true }>('counter', (ctx) => ({
    receive: (msg) => {
      const list = received.get(ctx.key) ?? [];
      received.set(ctx.key, list);
      if ('add' in msg) return void list.push(msg.add);
      return { node: id, sum: list.reduce((a, b) => a + b, 0) };
    },
  }));
  cleanups.push(() => actors.close(), () => system!.shutdown());
  return { node, system, actors, received };
}

async function connect(...members: Member[]): Promise<void> {
  for (const a of members) for (const b of members) if (a !== b) a.node.links.addPeer(b.node.id, b.node.address);
  for (const a of members) await allUp(a.node.links, members.filter((b) => b !== a).map((b) => b.node.id));
}

function arrived(m: Member, key: string, count: number): Promise<number[]> {
  return new Promise((resolve) => {
    const check = () => {
      const list = m.received.get(key) ?? [];
      if (list.length >= count) return resolve(list);
      setImmediate(check);
    };
    check();
  });
}

describe('actors across nodes', () => {
  it('a tell reaches the owner on another node, in order, and an ask comes back with the answer', async () => {
    const map = new MovableMap({ node: 'node-b', epoch: 3 });
    const a = await member('node-a', map);
    const b = await member('node-b', map);
    await connect(a, b);
    for (let i = 1; i <= 20; i++) a.system.ref('counter', 'run-1').tell({ add: i });
    expect(await arrived(b, 'run-1', 20)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await a.system.ref('counter', 'run-1').ask({ total: true }, 5_000)).toEqual({ node: 'node-b', sum: 210 });
    expect(a.received.size).toBe(0);
  });

  it('a message the wire delivers twice is applied once, and a resent ask gets one answer', async () => {
    const map = new MovableMap({ node: 'node-b', epoch: 1 });
    const faults = new PeerFaults(systemRandom);
    const a = await member('node-a', map, faults);
    const b = await member('node-b', map);
    await connect(a, b);
    faults.set('node-b', 'outbound', { duplicateRate: 1 });
    for (let i = 1; i <= 10; i++) a.system.ref('counter', 'run-2').tell({ add: i });
    expect(await a.system.ref('counter', 'run-2').ask({ total: true }, 5_000)).toEqual({ node: 'node-b', sum: 55 });
    expect(b.received.get('run-2')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('a tell sent while the link is cut arrives once it heals, once', async () => {
    const map = new MovableMap({ node: 'node-b', epoch: 1 });
    const faults = new PeerFaults(systemRandom);
    const a = await member('node-a', map, faults);
    const b = await member('node-b', map);
    await connect(a, b);
    faults.set('node-b', 'outbound', { cut: true });
    a.system.ref('counter', 'run-3').tell({ add: 7 });
    // Nothing gets through while the cut lasts: the sender keeps the message and tries again.
    expect(await a.system.ref('counter', 'run-3').ask({ total: true }, 300).catch((e: Error) => e.name)).toBe('ActorDeliveryTimeoutError');
    faults.heal('node-b');
    expect(await arrived(b, 'run-3', 1)).toEqual([7]);
    expect(await a.system.ref('counter', 'run-3').ask({ total: true }, 5_000)).toEqual({ node: 'node-b', sum: 7 });
  });

  it('a node that no longer owns the shard answers moved, and the sender finds the new owner', async () => {
    // node-a still believes node-b owns everything; node-b and node-c know node-c does now.
    const stale = new MovableMap({ node: 'node-b', epoch: 1 });
    const current = new MovableMap({ node: 'node-c', epoch: 2 });
    const a = await member('node-a', stale);
    const b = await member('node-b', current);
    const c = await member('node-c', current);
    await connect(a, b, c);
    a.system.ref('counter', 'run-4').tell({ add: 1 });
    expect(await a.system.ref('counter', 'run-4').ask({ total: true }, 5_000)).toEqual({ node: 'node-c', sum: 1 });
    expect(b.received.size).toBe(0);
    expect(c.received.get('run-4')).toEqual([1]);
  });

  it('a message from a node that is not a current member is refused, and not applied', async () => {
    const map = new MovableMap({ node: 'node-b', epoch: 1 });
    const a = await member('node-a', map);
    const b = await member('node-b', map, undefined, (from) => from.nodeId !== 'node-a');
    await connect(a, b);
    expect(await a.system.ref('counter', 'run-5').ask({ total: true }, 5_000).catch((e: Error) => e.message)).toBe('not a member of the cluster');
    expect(b.received.size).toBe(0);
  });
});
