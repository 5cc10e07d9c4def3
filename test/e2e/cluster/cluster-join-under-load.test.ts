/**
 * A fourth node joins a busy cluster. Three coordinators (rebalancing on) with agents on two of
 * them take a stream of signed git deliveries, posted round robin to the three: ten, then more one
 * at a time until some run sits in a shard the rebalance will hand node-d (rebalancing is
 * deterministic: the heaviest node's lowest shards move first), then ten more while node-d joins, is promoted, and the leader moves its share of the shards to it, 16 a second, while
 * every run is still in flight (each job waits on a flag the test sets only once node-d holds its
 * share). The runs whose shards moved are taken over by node-d from the store and finish there; a
 * job already running keeps its agent. Every delivery leads to its run exactly once and every run
 * succeeds with one dispatch per job. Checker: invariants 1 (the workload's expectation), 2, 3, 6.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allHeld, checkInvariants, expectWorkflows, formatReport, journalStep, readDatabaseView, sampleDatabase } from '../../../chaos/index.js';
import { rebalanceShards } from '../../../src/cluster/index.js';
import { agreedLeader, ClusterMember, GitRepo, kiciAdminJson, waitUntil } from '../harness/index.js';
import { evenScenario, evenShards, journalAgent, metric, postPush, pushBranch, settled, TERMINAL, type SignedSource } from './scenario-kit.js';

/** Posted before node-d joins (at least; more until one run is bound to move) and while it joins. */
const BEFORE_JOIN = 10;
const DURING_JOIN = 10;
/** A run lands in node-d's future quarter with chance 1/4 each: 40 misses in a row are ~1 in 100,000. */
const MOST_BEFORE_JOIN = 50;

describe('a fourth node joining under load', () => {
  const scenario = evenScenario();
  const { root, journal, flag } = scenario;

  it('takes its share of the shards while runs are in flight; every delivery runs once and every run succeeds', async () => {
    const { databaseUrl, members } = scenario;
    const [a, b, c] = members as [ClusterMember, ClusterMember, ClusterMember];
    await journalAgent(root, a, b, 'agent-on-b', { maxConcurrency: 10 });
    await journalAgent(root, a, c, 'agent-on-c', { maxConcurrency: 10 });

    const repo = new GitRepo(path.join(root, 'repo'));
    const secret = 'a-webhook-secret-for-the-test';
    const secretFile = path.join(root, 'repo.secret');
    writeFileSync(secretFile, secret, { mode: 0o600 });
    const added = await kiciAdminJson<{ id: string }>(a.url, a.process.adminToken, ['source', 'add', 'git', '--org', 'e2e', '--name', 'stream', '--url', repo.originUrl, '--default-branch', 'main', '--secret', '@' + secretFile]);
    const source: SignedSource = { id: added.id, orgId: 'e2e', secret };
    repo.commitLockfile({
      schemaVersion: 1,
      workflows: [
        { name: 'stream', triggers: [{ _type: 'push', branches: ['load-*'] }], jobs: [{ name: 'work', steps: [{ run: journalStep(journal, `while [ ! -f '${flag}' ]; do sleep 0.1; done`) }] }] },
        { name: 'elsewhere', triggers: [{ _type: 'push', branches: ['never-*'] }], jobs: [{ name: 'none', steps: [{ run: journalStep(journal) }] }] },
      ],
    });
    repo.push('main');
    const samples = sampleDatabase({ databaseUrl, everyMs: 250 });
    const accepted: Record<string, string[]> = {};
    let posted = 0;
    const post = async (count: number) => {
      const pushes = Array.from({ length: count }, (_, i) => ({ branch: `load-${posted + i}`, sha: '' }));
      for (const p of pushes) p.sha = pushBranch(repo, p.branch);
      for (const p of pushes) {
        const r = await postPush(members[posted++ % 3]!, source, p.branch, p.sha);
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        accepted[r.deliveryId] = ['stream'];
      }
    };

    const goingToD = await shardsTheJoinerWillTake(databaseUrl);
    await post(BEFORE_JOIN);
    while (!(await allCreated(databaseUrl, posted)).runs.some((r) => goingToD.has(r.shard))) {
      expect(posted, 'a run in a shard node-d will take').toBeLessThan(MOST_BEFORE_JOIN);
      await post(1);
    }
    // node-d joins while the rest of the stream arrives.
    const d = await ClusterMember.create(root, { name: 'node-d', join: { token: await a.joinToken(), peers: [b.address, c.address] }, adminToken: a.process.adminToken, env: { KICI_GIT_RECONCILE_INTERVAL_MS: '3600000' } });
    await Promise.all([d.process.start(), post(DURING_JOIN)]);
    const deliveries = posted;
    await agreedLeader([a, b, c, d], ['node-a', 'node-b', 'node-c', 'node-d']);
    const spread = await evenShards(a, ['node-a', 'node-b', 'node-c', 'node-d'], databaseUrl);
    expect(spread['node-d']).toBeGreaterThanOrEqual(63);

    // Every run is still unfinished: the flag is not set yet. Those in node-d's shards moved to it in flight.
    const before = await allCreated(databaseUrl, deliveries);
    const owners = new Map(before.shards.map((s) => [s.shard, s.ownerNode]));
    const movedToD = before.runs.filter((r) => owners.get(r.shard) === 'node-d');
    expect(before.runs).toHaveLength(deliveries);
    expect(before.runs.filter((r) => TERMINAL.has(r.status))).toEqual([]);
    expect(movedToD.length, 'runs in the shards node-d took over').toBeGreaterThan(0);
    // node-d woke unfinished runs of the shards it gained from the others (orphans reclaimed, by the metric's name).
    expect(await metric(d, 'kici_orphans_reclaimed_total')).toBeGreaterThan(0);

    writeFileSync(flag, '');
    const end = await settled(databaseUrl, 'every run to finish', { runs: deliveries }).catch((e: Error) => e);
    const reports = await checkInvariants({ journal, databaseUrl, expect: expectWorkflows(accepted), samples: await samples.stop() });
    expect(allHeld(reports), formatReport(reports)).toBe(true);
    if (end instanceof Error) throw end;
    expect(Object.keys(accepted)).toHaveLength(deliveries);
    expect(end.runs.filter((r) => r.status !== 'success')).toEqual([]);
    expect(end.jobs.filter((j) => j.dispatchAttempts !== 1)).toEqual([]);
  }, 180_000);
});

/** The database once each of `count` deliveries has its run (none can finish before the flag). */
function allCreated(databaseUrl: string, count: number) {
  return waitUntil(`${count} deliveries to have their runs`, async () => {
    const view = await readDatabaseView(databaseUrl);
    return view.runs.length >= count && view.deliveries.every((d) => d.status !== 'received') ? view : undefined;
  });
}

/** The shards the leader's rebalance will move to node-d once it joins the three evenly spread. */
async function shardsTheJoinerWillTake(databaseUrl: string): Promise<Set<number>> {
  const rows = (await readDatabaseView(databaseUrl)).shards;
  const map = new Map(rows.map((r) => [r.shard, { node: r.ownerNode, epoch: r.epoch }]));
  const members = ['node-a', 'node-b', 'node-c', 'node-d'].map((node, i) => ({ node, raftId: i + 1, address: '', role: 'coordinator' as const, standing: 'voter' as const }));
  const moves = rebalanceShards({ map, members, alive: () => true, stored: rows.map((r) => ({ shard: r.shard, node: r.ownerNode, epoch: r.epoch })), maxMoves: 256 });
  return new Set(moves.filter((m) => m.node === 'node-d').map((m) => m.shard));
}
