/**
 * The shard lease on a manual clock: an owner that hears from no quorum for the lease stops acting
 * on its shards (their actors passivate, messages for them no longer run here) without touching
 * the replicated map; once a quorum is back it follows the latest map as on a gain (the same
 * epochs raised again, runs woken, deliveries resumed). A gap shorter than the lease changes
 * nothing, and a node that starts without a quorum gains nothing until it has one.
 */
import { describe, expect, it, vi } from 'vitest';
import { ActorSystem, shardOf, type RemoteSend } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { ShardTable, type ShardOwnership as Owner } from '../../../src/cluster/index.js';
import { RunAdmission } from '../../../src/runs/index.js';
import type { RunRecord, Store } from '../../../src/store/index.js';
import { followShards } from '../../../src/server/wiring/shard-ownership.js';

const LEASE_MS = 1300;
const CHECK_MS = 50;
const SWEEP = { everyMs: 30_000, leftBehindMs: 60_000 };

/** Keys whose shards all differ, so each stands for one shard. */
function keysInDistinctShards(count: number): string[] {
  const keys: string[] = [];
  const shards = new Set<number>();
  for (let i = 0; keys.length < count; i++) {
    const key = `run-${i}`;
    if (shards.has(shardOf(key))) continue;
    shards.add(shardOf(key));
    keys.push(key);
  }
  return keys;
}

const [K0, K1, K3] = keysInDistinctShards(3) as [string, string, string];
const [S0, S1, S3] = [shardOf(K0), shardOf(K1), shardOf(K3)];
const map = (entries: [number, Owner][]) => new Map(entries);

function node(options: { inQuorum: boolean }) {
  const clock = new ManualClock(0);
  const table = new ShardTable([]);
  const sent: { node: string; key: string }[] = [];
  const remote: RemoteSend = { tell: (to, envelope) => void sent.push({ node: to, key: envelope.key }), ask: async () => undefined };
  const system = new ActorSystem({ nodeId: 'a', clock, shardMap: table, remote });
  const activated: string[] = [];
  const passivated: string[] = [];
  system.register('probe', (ctx) => ({
    onActivate: () => void activated.push(ctx.key),
    receive: () => undefined,
    onPassivate: () => void passivated.push(ctx.key),
  }));
  const started: string[] = [];
  const admission = new RunAdmission(system, { describe: async () => null, start: (runId) => void started.push(runId) });
  // The shards table as PostgreSQL keeps it: raised only forward; a raise names the shards now at the epoch asked for.
  const rows = new Map<number, { node: string; epoch: number }>();
  const raises: { shard: number; epoch: number }[][] = [];
  const runs = [K0, K1, K3].map((id) => ({ id, shard: shardOf(id), status: 'running', sourceId: 'src', workflowName: 'ci', concurrency: null }) as unknown as RunRecord);
  const store = {
    shards: {
      raise: async (owner: string, shards: { shard: number; epoch: number }[]) => {
        raises.push(shards);
        for (const s of shards) if ((rows.get(s.shard)?.epoch ?? 0) < s.epoch) rows.set(s.shard, { node: owner, epoch: s.epoch });
        return shards.filter((s) => rows.get(s.shard)?.node === owner && rows.get(s.shard)?.epoch === s.epoch).map((s) => s.shard);
      },
    },
    runs: { listNonTerminal: async (filter: { shards: number[] }) => runs.filter((r) => filter.shards.includes(r.shard)) },
  } as unknown as Pick<Store, 'shards' | 'runs'>;
  const resumed: { shards: number[]; receivedBefore?: Date }[] = [];
  const logged: { level: string; msg: string }[] = [];
  const log = {
    info: (_: unknown, msg: string) => void logged.push({ level: 'info', msg }),
    warn: (_: unknown, msg: string) => void logged.push({ level: 'warn', msg }),
    error: (_: unknown, msg: string) => void logged.push({ level: 'error', msg }),
  };
  const quorum = { now: options.inQuorum };
  const owned: number[] = [];
  let reclaimed = 0;
  const ownership = followShards({
    nodeId: 'a',
    table,
    system,
    store,
    admission,
    clock,
    log: log as never,
    resumeDeliveries: async (shards, receivedBefore) => {
      resumed.push(receivedBefore ? { shards, receivedBefore } : { shards });
      return 0;
    },
    lease: { ms: LEASE_MS, checkMs: CHECK_MS, inQuorum: () => quorum.now },
    deliverySweep: SWEEP,
    onOwned: (n) => void owned.push(n),
    onReclaimed: (n) => void (reclaimed += n),
  });
  return { clock, table, system, sent, activated, passivated, started, raises, resumed, logged, quorum, owned, ownership, runs, reclaimed: () => reclaimed };
}

const messages = (logged: { level: string; msg: string }[], level: string) => logged.filter((l) => l.level === level).map((l) => l.msg);

describe('the shard lease', () => {
  it('suspends every owned shard once no quorum is heard from for the lease, and follows the latest map again when one is', async () => {
    const n = node({ inQuorum: true });
    await n.ownership.follow(map([[S0, { node: 'a', epoch: 3 }], [S1, { node: 'a', epoch: 3 }], [S3, { node: 'b', epoch: 2 }]]));
    expect(n.ownership.count()).toBe(2);
    expect(n.started.sort()).toEqual([K0, K1].sort());
    expect(n.resumed).toEqual([{ shards: [S0, S1] }]);
    await n.system.ref('probe', K0).ask('hello', 1000);
    expect(n.activated).toEqual([K0]);

    // Cut off: nothing changes until the lease has run out, measured from the last contact.
    n.quorum.now = false;
    n.clock.advance(LEASE_MS - CHECK_MS);
    await n.ownership.settled();
    expect(n.ownership.count()).toBe(2);
    expect(n.ownership.acting()).toBe(true);
    n.clock.advance(CHECK_MS);
    await n.ownership.settled();
    expect(n.ownership.acting()).toBe(false);
    expect(n.ownership.count()).toBe(0);
    expect(n.owned.at(-1)).toBe(0);
    expect(n.passivated).toEqual([K0]);
    expect(messages(n.logged, 'warn')).toContain('shard lease lapsed: no quorum heard from; this node stops acting on its shards until it is in touch with one again');
    // A message for a suspended shard no longer runs here: it goes out to no node, and waits there.
    expect(n.system.locate(K0)?.node).not.toBe('a');
    n.system.ref('probe', K0).tell('while cut off');
    expect(n.sent).toEqual([{ node: '', key: K0 }]);
    expect(n.activated).toEqual([K0]);

    // Meanwhile the map moves on: S1 goes to c, S3 comes to this node. Neither is acted on yet.
    await n.ownership.follow(map([[S0, { node: 'a', epoch: 3 }], [S1, { node: 'c', epoch: 4 }], [S3, { node: 'a', epoch: 4 }]]));
    expect(n.raises).toHaveLength(1);
    expect(n.system.locate(K1)?.node).toBe('c');
    // The sweep for deliveries left behind does not run while suspended.
    const before = n.resumed.length;
    n.clock.advance(SWEEP.everyMs);
    expect(n.resumed).toHaveLength(before);

    // A quorum again: the latest map, as a gain. S0's epoch is raised again (no change), S3's for the first time.
    const reclaimedBefore = n.reclaimed();
    n.quorum.now = true;
    n.clock.advance(CHECK_MS);
    await n.ownership.settled();
    expect(messages(n.logged, 'info')).toContain('shard lease renewed: in touch with a quorum again; following the latest shard map');
    expect(n.raises.at(-1)).toEqual([{ shard: S0, epoch: 3 }, { shard: S3, epoch: 4 }]);
    expect(n.ownership.acting()).toBe(true);
    expect(n.ownership.count()).toBe(2);
    expect(n.table.ownerOf(S0)).toEqual({ node: 'a', epoch: 3 });
    expect(n.started.filter((id) => id === K0)).toHaveLength(2);
    expect(n.started).toContain(K3);
    // Only S3's run was another node's: S0's stayed this node's through the lapse.
    expect(n.reclaimed() - reclaimedBefore).toBe(1);
    expect(n.resumed.at(-1)).toEqual({ shards: [S0, S3] });
    await n.system.ref('probe', K0).ask('back', 1000);
    expect(n.activated).toEqual([K0, K0]);

    // And the sweep picks up deliveries other nodes left behind in the owned shards.
    n.clock.advance(SWEEP.everyMs);
    await n.ownership.settled();
    expect(n.resumed.at(-1)).toEqual({ shards: [S0, S3], receivedBefore: new Date(n.clock.now() - SWEEP.leftBehindMs) });
    await n.ownership.stop();
  });

  it('changes nothing for a gap shorter than the lease', async () => {
    const n = node({ inQuorum: true });
    await n.ownership.follow(map([[S0, { node: 'a', epoch: 1 }]]));
    n.quorum.now = false;
    n.clock.advance(LEASE_MS - CHECK_MS);
    n.quorum.now = true;
    n.clock.advance(CHECK_MS);
    // The silence starts again from the last contact.
    n.quorum.now = false;
    n.clock.advance(LEASE_MS - CHECK_MS);
    await n.ownership.settled();
    expect(n.ownership.acting()).toBe(true);
    expect(n.ownership.count()).toBe(1);
    expect(n.raises).toHaveLength(1);
    expect(n.passivated).toEqual([]);
    await n.ownership.stop();
  });

  it('gains nothing on a node that starts without a quorum until it has one', async () => {
    const n = node({ inQuorum: false });
    expect(n.ownership.acting()).toBe(false);
    await n.ownership.follow(map([[S0, { node: 'a', epoch: 2 }], [S1, { node: 'a', epoch: 2 }]]));
    expect(n.raises).toEqual([]);
    expect(n.ownership.count()).toBe(0);
    n.quorum.now = true;
    n.clock.advance(CHECK_MS);
    await n.ownership.settled();
    expect(n.ownership.count()).toBe(2);
    expect(n.raises).toEqual([[{ shard: S0, epoch: 2 }, { shard: S1, epoch: 2 }]]);
    await n.ownership.stop();
  });

  it('starts, at its sweep, a run of an owned shard that another node created and left pending', async () => {
    const n = node({ inQuorum: true });
    await n.ownership.follow(map([[S0, { node: 'a', epoch: 1 }]]));
    // Created by a node that died before its start reached this one.
    n.runs.push({ id: 'orphan', shard: S0, status: 'pending', createdAt: new Date(-1), sourceId: 'src', workflowName: 'ci', concurrency: null } as unknown as RunRecord);
    n.runs.push({ id: 'fresh', shard: S0, status: 'pending', createdAt: new Date(SWEEP.everyMs), sourceId: 'src', workflowName: 'ci', concurrency: null } as unknown as RunRecord);
    const startedBefore = n.started.length;
    // The first sweep finds it too young to call left behind; the next one starts it (not the fresh one).
    n.clock.advance(SWEEP.everyMs);
    await vi.waitFor(() => expect(n.resumed.length).toBeGreaterThan(0));
    await new Promise((r) => setImmediate(r));
    expect(n.started.slice(startedBefore)).toEqual([]);
    n.clock.advance(SWEEP.everyMs);
    await vi.waitFor(() => expect(n.started.slice(startedBefore)).toEqual(['orphan']));
    expect(messages(n.logged, 'info')).toContain('starting runs other nodes created and left pending');
    await n.ownership.stop();
  });
});
