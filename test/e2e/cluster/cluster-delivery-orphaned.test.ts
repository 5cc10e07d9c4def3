/**
 * A webhook accepted by a node that dies before processing it. The git source is served over
 * HTTP from loopback by a server the test can make hang (DumbGitServer): with it holding, a node
 * that accepts a push commits the delivery row, answers 202, and sits in its fetch of the pushed
 * commit (its mirror does not have it); the test sees that fetch arrive, kills the node -9, and
 * only then lets the server answer. The delivery, left `received`, is resumed by the owner of its
 * shard:
 * - at once when the dead node owned that shard: the node that gains it resumes the shard's
 *   deliveries left `received` (its fetch is seen arriving while the server still holds);
 * - otherwise by the owner's sweep of deliveries left `received` for 30 s.
 * Either way the push gets exactly one run, which succeeds. Checker: invariants 1 (the workload's
 * expectation), 2, 3 and 6.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../../src/actors/index.js';
import { allHeld, checkInvariants, expectWorkflows, formatReport, journalStep, readDatabaseView, sampleDatabase, type DatabaseSamples } from '../../../chaos/index.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { agreedLeader, ClusterMember, clusterRoot, formCluster, GitRepo, kiciAdminJson, killAll, waitUntil } from '../harness/index.js';
import { DumbGitServer, evenShards, journalAgent, postPush, pushDeliveryId, settled, type SignedSource } from './scenario-kit.js';

describe('a webhook accepted by a node that dies before processing it', () => {
  const root = clusterRoot();
  const journal = path.join(root, 'journal.ndjson');
  const names = ['node-a', 'node-b', 'node-c'];
  let databaseUrl: string;
  let members: ClusterMember[];
  let repo: GitRepo;
  let server: DumbGitServer;
  let source: SignedSource;
  let samples: DatabaseSamples;
  const accepted: Record<string, string[]> = {};

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl();
    // No reconcile: the only deliveries are the test's (a reconcile of the moved branch would
    // race the resumed delivery for the push, and the delivery would end a duplicate).
    members = await formCluster(root, databaseUrl, names, { KICI_GIT_RECONCILE_INTERVAL_MS: '3600000' });
    await evenShards(members[0]!, names, databaseUrl);
    const leader = await leaderOf();
    await journalAgent(root, leader, leader, 'agent-on-leader');

    repo = new GitRepo(path.join(root, 'repo'));
    repo.commitLockfile({
      schemaVersion: 1,
      workflows: [{ name: 'ci', triggers: [{ _type: 'push', branches: ['orphan-*'] }], jobs: [{ name: 'build', steps: [{ run: journalStep(journal) }] }] }],
    });
    repo.push('main');
    server = new DumbGitServer(repo);
    await server.start();
    const secret = 'a-webhook-secret-for-the-test';
    const secretFile = path.join(root, 'repo.secret');
    writeFileSync(secretFile, secret, { mode: 0o600 });
    const added = await kiciAdminJson<{ id: string }>(leader.url, leader.process.adminToken, ['source', 'add', 'git', '--org', 'e2e', '--name', 'served', '--url', server.url, '--default-branch', 'main', '--secret', '@' + secretFile]);
    source = { id: added.id, orgId: 'e2e', secret };
    samples = sampleDatabase({ databaseUrl, everyMs: 250 });
  }, 120_000);

  afterAll(async () => {
    await killAll();
    await server?.stop();
  });

  const live = () => members.filter((m) => m.process.running);
  async function leaderOf(): Promise<ClusterMember> {
    const name = (await agreedLeader(live(), names)).leader!.node;
    return members.find((m) => m.name === name)!;
  }

  /**
   * A new commit on a new branch, named so that its delivery's shard is owned (in the database's
   * fence rows) by a node `wanted` picks; pushed to origin and published to the HTTP server.
   */
  async function pushWithShardOwner(wanted: (owner: string) => boolean): Promise<{ branch: string; sha: string; deliveryId: string; shard: number; owner: string }> {
    const owners = new Map((await readDatabaseView(databaseUrl)).shards.map((s) => [s.shard, s.ownerNode]));
    repo.checkout('main');
    const sha = repo.commit({}, 'a push nobody has fetched yet');
    for (let i = 0; i < 1000; i++) {
      const branch = `orphan-${sha.slice(0, 8)}-${i}`;
      const deliveryId = pushDeliveryId(source, branch, sha);
      const shard = shardOf(deliveryId);
      const owner = owners.get(shard)!;
      if (!wanted(owner)) continue;
      repo.git(repo.work, 'push', '-q', 'origin', `HEAD:refs/heads/${branch}`);
      server.refresh();
      return { branch, sha, deliveryId, shard, owner };
    }
    throw new Error('no branch name gives a delivery shard the test wants');
  }

  /** Post the push to `victim` with the server holding; resolves once its fetch hangs there. */
  async function acceptAndHang(victim: ClusterMember, push: { branch: string; sha: string; deliveryId: string }): Promise<void> {
    server.hold();
    const held = server.heldRequests;
    const r = await postPush(victim, source, push.branch, push.sha);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    accepted[r.deliveryId] = ['ci'];
    await waitUntil(`${victim.name} to start fetching the pushed commit`, () => (server.heldRequests > held ? true : undefined));
    const row = (await readDatabaseView(databaseUrl)).deliveries.find((d) => d.deliveryId === push.deliveryId);
    expect(row?.status).toBe('received');
  }

  const runsOf = async (deliveryId: string) => (await readDatabaseView(databaseUrl)).runs.filter((r) => r.deliveryId === deliveryId);

  it('when it owned the delivery\'s shard, the node that gains the shard resumes the delivery at once', async () => {
    const leader = await leaderOf();
    const victim = members.find((m) => m !== leader)!;
    const push = await pushWithShardOwner((owner) => owner === victim.name);
    await acceptAndHang(victim, push);
    const heldByVictim = server.heldRequests;

    await victim.process.kill9();
    // The gainer resumes the shard's deliveries left `received`: its own fetch arrives, and hangs too.
    await waitUntil('the gainer of the delivery\'s shard to resume it (a second fetch)', async () => {
      const owner = (await readDatabaseView(databaseUrl)).shards.find((s) => s.shard === push.shard)!.ownerNode;
      return owner !== victim.name && server.heldRequests > heldByVictim ? true : undefined;
    }, { timeoutMs: 15_000 });
    expect(await runsOf(push.deliveryId)).toEqual([]);
    server.release();

    const end = await settled(databaseUrl, 'the delivery to be processed and its run to finish', { runs: 1 });
    const runs = end.runs.filter((r) => r.deliveryId === push.deliveryId);
    expect(runs.map((r) => [r.workflowName, r.status])).toEqual([['ci', 'success']]);
    expect(end.deliveries.find((d) => d.deliveryId === push.deliveryId)?.status).toBe('processed');

    // Back as a member for the next case (a cluster of three needs two to keep a quorum).
    await victim.process.start();
    await agreedLeader(members, names);
    await evenShards(leader, names, databaseUrl);
  }, 120_000);

  it('when another node owns the delivery\'s shard, its sweep resumes the delivery left received', async () => {
    const leader = await leaderOf();
    const victim = members.find((m) => m !== leader)!;
    const push = await pushWithShardOwner((owner) => owner !== victim.name);
    await acceptAndHang(victim, push);
    await victim.process.kill9();
    // Nobody is fetching now: the victim is gone and no shard of the delivery's moved. The server
    // answers from here on; the owner's sweep (every 10 s, for deliveries received 30 s ago) takes it.
    server.release();
    const started = Date.now();
    const end = await settled(databaseUrl, 'the owner of the delivery\'s shard to sweep it up and its run to finish', { runs: 2, timeoutMs: 75_000 });
    const runs = end.runs.filter((r) => r.deliveryId === push.deliveryId);
    expect(runs.map((r) => [r.workflowName, r.status])).toEqual([['ci', 'success']]);
    expect(end.deliveries.find((d) => d.deliveryId === push.deliveryId)?.status).toBe('processed');
    // Not resumed by a gain (its shard did not move): by the sweep, once 30 s old.
    const row = end.deliveries.find((d) => d.deliveryId === push.deliveryId)!;
    expect(runs[0]!.createdAt.getTime() - row.receivedAt.getTime()).toBeGreaterThanOrEqual(30_000);
    const swept = live().filter((m) => readFileSync(m.process.options.logFile, 'utf8').includes('resuming deliveries other nodes left unprocessed'));
    expect(swept.map((m) => m.name)).toEqual([end.shards.find((s) => s.shard === push.shard)!.ownerNode]);
    expect(Date.now() - started).toBeLessThan(75_000);

    const reports = await checkInvariants({ journal, databaseUrl, expect: expectWorkflows(accepted), samples: await samples.stop() });
    expect(Object.keys(accepted)).toHaveLength(2);
    expect(allHeld(reports), formatReport(reports)).toBe(true);
  }, 150_000);
});
