/**
 * The leader's chores on a real ClusterRaft (one voter, a real log directory, a manual clock): the
 * founder records itself and places every shard; a second coordinator gets its share a bounded
 * number a second; and a member whose link went down loses its shards the moment it would count
 * as dead, not at the next round of chores.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SHARD_COUNT } from '../../../src/actors/index.js';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import { ClusterRaft, Coordinator } from '../../../src/cluster/index.js';
import { FileStorage } from '../../../src/raft/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const STALE_MS = 1500;
/** Longer than any test runs: whatever happens before it is not the periodic round's doing. */
const CHORE_EVERY_MS = 3_600_000;

function leaderAlone() {
  const clock = new ManualClock();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kici-coordinator-'));
  dirs.push(dir);
  const random = new SeededRandom(7);
  const raft = new ClusterRaft({ raftId: 1, storage: new FileStorage(dir, { conf: { voters: [1], learners: [] } }), clock, random: () => random.next(), send: () => {} });
  const dead = new Set<string>();
  const down = new Set<string>();
  const logged: string[] = [];
  const log = { info: (_: object, m: string) => void logged.push(m), warn: (_: object, m: string) => void logged.push(m) };
  const coordinator = new Coordinator({
    nodeId: 'n1',
    raft,
    clock,
    log,
    choreEveryMs: CHORE_EVERY_MS,
    rebalanceShardsPerSecond: 16,
    alive: (node) => !dead.has(node),
    storedShards: async () => [],
    admit: async () => {
      if (!raft.state.member('n1')) await raft.propose({ type: 'member_added', node: 'n1', raftId: 1, address: 'n1:4001', role: 'coordinator' });
    },
    staleMs: STALE_MS,
    linkUp: (node) => !down.has(node),
  });
  const owned = (node: string) => [...raft.state.shardOwners().values()].filter((o) => o.node === node).length;
  return { clock, raft, coordinator, dead, down, logged, owned };
}

/** Let the clock run in small steps until `done` holds (Raft elections and proposals are timer-driven). */
async function until(clock: ManualClock, done: () => boolean, stepMs = 10, maxSteps = 2000): Promise<void> {
  for (let i = 0; i < maxSteps && !done(); i++) {
    clock.advance(stepMs);
    await new Promise((r) => setImmediate(r));
  }
  expect(done()).toBe(true);
}

/** The founder leading, with every shard placed, and a second coordinator that took half by rebalancing. */
async function twoSharing() {
  const n = leaderAlone();
  await until(n.clock, () => n.raft.status().role === 'leader');
  n.coordinator.start();
  await until(n.clock, () => n.owned('n1') === SHARD_COUNT);
  await n.raft.propose({ type: 'member_added', node: 'n2', raftId: 2, address: 'n2:4001', role: 'coordinator' });
  await n.raft.propose({ type: 'member_promoted', node: 'n2' });
  await until(n.clock, () => {
    void n.coordinator.placeShards();
    return n.owned('n2') === SHARD_COUNT / 2;
  }, 100);
  return n;
}

describe('Coordinator', () => {
  it('records the founder and places every shard on it once it leads', async () => {
    const n = leaderAlone();
    await until(n.clock, () => n.raft.status().role === 'leader');
    n.coordinator.start();
    await until(n.clock, () => n.owned('n1') === SHARD_COUNT);
    expect(n.raft.state.member('n1')).toMatchObject({ role: 'coordinator' });
    expect(n.logged).toContain('shards placed');
    n.coordinator.stop();
    n.raft.stop();
  });

  it("gives a second coordinator its share gradually, and takes it back the moment its link has been down for the stale timeout", async () => {
    const n = await twoSharing();
    // Paced: 128 shards at 16 a second take at least eight decisions.
    expect(n.logged.filter((m) => m === 'shards rebalanced').length).toBeGreaterThanOrEqual(8);

    // n2's link goes down; nothing moves until it would count as dead, then everything does at once.
    n.down.add('n2');
    n.coordinator.linkDown('n2');
    n.clock.advance(STALE_MS - 100);
    await new Promise((r) => setImmediate(r));
    expect(n.owned('n2')).toBe(SHARD_COUNT / 2);
    n.dead.add('n2');
    await until(n.clock, () => n.owned('n1') === SHARD_COUNT);
    n.coordinator.stop();
    n.raft.stop();
  });

  it('leaves a member alone whose link came back before the stale timeout', async () => {
    const n = await twoSharing();
    n.down.add('n2');
    n.coordinator.linkDown('n2');
    n.down.delete('n2');
    n.coordinator.linkUp('n2');
    // Were the watch still armed, this placement would run with n2 dead.
    n.dead.add('n2');
    n.clock.advance(STALE_MS * 2);
    await new Promise((r) => setImmediate(r));
    expect(n.owned('n2')).toBe(SHARD_COUNT / 2);
    n.coordinator.stop();
    n.raft.stop();
  });
});
