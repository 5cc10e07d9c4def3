/**
 * Several kici-orchestrator processes on one PostgreSQL become one cluster: three nodes form it
 * from join tokens and elect a leader; a fourth joins and is promoted; the leader is killed -9 and
 * another is elected; a node cut off through the fault hook answers 503 on /ready and comes back;
 * a revoked node's links drop at once and it cannot get back in; a node of another cluster is
 * refused. Everything is real: processes, TLS on loopback, PostgreSQL.
 */
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { agreedLeader, ClusterMember, clusterRoot, formCluster, killAll, waitUntil } from '../harness/index.js';

describe('a cluster of orchestrators', () => {
  const root = clusterRoot();
  let a: ClusterMember;
  let b: ClusterMember;
  let c: ClusterMember;
  const members = () => [a, b, c];

  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl();
    [a, b, c] = await formCluster(root, databaseUrl);
  }, 120_000);

  afterAll(async () => {
    await killAll();
  });

  it('three nodes form one cluster from tokens and agree on a leader', async () => {
    const health = await agreedLeader(members(), ['node-a', 'node-b', 'node-c']);
    expect(health.members.map((m) => m.node).sort()).toEqual(['node-a', 'node-b', 'node-c']);
    const ids = new Set((await Promise.all(members().map((m) => m.health()))).map((h) => h.clusterId));
    expect(ids.size).toBe(1);
    for (const m of members()) expect(await m.ready()).toBe(200);
  });

  it('a fourth node joins as a learner and is promoted to voter once it has caught up', async () => {
    const d = await ClusterMember.create(root, { name: 'node-d', join: { token: await a.joinToken(), peers: [b.address, c.address] }, adminToken: a.process.adminToken });
    await d.process.start();
    await agreedLeader([...members(), d], ['node-a', 'node-b', 'node-c', 'node-d']);
    // Revoked at once: every member cuts it, the Raft configuration drops it, /ready on it turns 503.
    const revoked = await b.process.api<{ nodeId: string; revoked: boolean; serials: string[] }>('DELETE', '/peers/node-d');
    expect(revoked).toMatchObject({ nodeId: 'node-d', revoked: true });
    expect(revoked.serials.length).toBeGreaterThan(0);
    await agreedLeader(members(), ['node-a', 'node-b', 'node-c']);
    await waitUntil('node-d to be out of quorum', async () => ((await d.ready()) === 503 ? true : undefined));
    for (const m of members()) expect((await m.health()).members.map((x) => x.node)).not.toContain('node-d');
    // It cannot get back in by joining again, under its id, even with a new token.
    await d.process.stop();
    const again = await ClusterMember.create(root, { name: 'node-d', join: { token: await a.joinToken(), peers: [a.address] }, adminToken: a.process.adminToken });
    await expect(again.process.start()).rejects.toThrow(/refused the join: the join token was refused/);
  });

  it('a node cut off through the fault hook answers 503 on /ready, and 200 again once healed', async () => {
    const leader = (await agreedLeader(members(), ['node-a', 'node-b', 'node-c'])).leader!.node;
    const cut = members().find((m) => m.name !== leader)!;
    const others = members().filter((m) => m !== cut);
    for (const o of others) await cut.process.api('POST', '/cluster/faults', { action: 'cut', peer: o.name, direction: 'both' });
    await waitUntil(`${cut.name} to answer 503 on /ready`, async () => ((await cut.ready()) === 503 ? true : undefined));
    const body = (await (await fetch(`${cut.url}/ready`)).json()) as { checks: { cluster: string } };
    expect(body.checks.cluster).toMatch(/quorum/);
    for (const o of others) expect(await o.ready()).toBe(200);
    await cut.process.api('POST', '/cluster/faults', { action: 'heal' });
    await agreedLeader(members(), ['node-a', 'node-b', 'node-c']);
  });

  it('the leader is killed -9 and the others elect a new one', async () => {
    const before = await agreedLeader(members(), ['node-a', 'node-b', 'node-c']);
    const victim = members().find((m) => m.name === before.leader!.node)!;
    await victim.process.kill9();
    const rest = members().filter((m) => m !== victim);
    const after = await waitUntil('a new leader among the survivors', async () => {
      const views = await Promise.all(rest.map((m) => m.health()));
      const leader = views[0]!.leader;
      return leader && leader.node !== victim.name && views.every((v) => v.leader?.node === leader.node && v.ready) ? views[0] : undefined;
    });
    expect(after.term).toBeGreaterThan(before.term);
    for (const m of rest) {
      const metrics = await (await fetch(`${m.url}/metrics`)).text();
      expect(Number(/^kici_raft_term (\d+)$/m.exec(metrics)?.[1])).toBe(after.term);
      expect(Number(/^kici_raft_leader_changes_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
      expect(Number(/^kici_raft_commit_index (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      expect(Number(/^kici_cluster_peers_connected (\d+)$/m.exec(metrics)?.[1])).toBe(1);
    }
    // It comes back as a follower of the new leader.
    await victim.process.start();
    await agreedLeader(members(), ['node-a', 'node-b', 'node-c']);
  });

  it('a node of another cluster is refused: the CA it is shown is not the one its token names', async () => {
    const foreign = await ClusterMember.create(root, { name: 'stranger', databaseUrl: await freshDatabaseUrl() });
    await foreign.process.start();
    const token = await foreign.joinToken();
    const joiner = await ClusterMember.create(root, { name: 'node-e', join: { token, peers: [a.address] }, adminToken: a.process.adminToken });
    await expect(joiner.process.start()).rejects.toThrow(/belongs to another cluster/);
    // A join with a token the cluster never issued is refused, counted and shown in the metrics.
    const answer = await postJoin(a.address, { token: 'kici1.not-a-token', nodeId: 'node-f', role: 'coordinator', address: '127.0.0.1:1', csr: 'none' });
    expect(answer).toMatchObject({ status: 403, body: { error: 'token_refused' } });
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(Number(/^kici_peer_auth_failures_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    await foreign.process.stop();
  });
});

/** POST /cluster/join on a cluster port, trusting nothing (the body is what is under test). */
function postJoin(address: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = https.request({ host, port: Number(port), method: 'POST', path: '/cluster/join', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
