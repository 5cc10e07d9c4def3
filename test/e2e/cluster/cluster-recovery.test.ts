/**
 * Quorum lost for good: two of three coordinators are killed -9 and never come back. On the
 * survivor, `kici-admin cluster recover --force` and a restart make it a cluster of one that leads,
 * answers ready, has revoked the lost members and owns every shard at an epoch above any stored.
 * A new node then joins it with `kici-admin join` ahead of its first start.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { agreedLeader, ClusterMember, clusterRoot, formCluster, kiciAdmin, killAll, waitUntil } from '../harness/index.js';

describe('cluster recover --force', () => {
  const root = clusterRoot();
  let databaseUrl: string;
  let a: ClusterMember;
  let b: ClusterMember;
  let c: ClusterMember;

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl();
    [a, b, c] = await formCluster(root, databaseUrl);
  }, 120_000);

  afterAll(async () => {
    await killAll();
  });

  async function shardEpochs(): Promise<{ owners: string[]; min: number; max: number }> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const rows = (await client.query<{ owner_node: string; epoch: number }>('SELECT owner_node, epoch FROM shards')).rows;
      return { owners: [...new Set(rows.map((r) => r.owner_node))], min: Math.min(...rows.map((r) => r.epoch)), max: Math.max(...rows.map((r) => r.epoch)) };
    } finally {
      await client.end();
    }
  }

  it('makes the survivor a cluster of one that leads, owns every shard and can take new members', async () => {
    const before = await shardEpochs();
    await Promise.all([b.process.kill9(), c.process.kill9()]);
    await waitUntil('node-a to lose quorum', async () => ((await a.ready()) === 503 ? true : undefined));

    await a.process.stop();
    const refused = await kiciAdmin(a.url, a.process.adminToken, ['cluster', 'recover', '--data-dir', a.dataDir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--force/);
    const asked = await kiciAdmin(a.url, a.process.adminToken, ['cluster', 'recover', '--force', '--data-dir', a.dataDir]);
    expect(asked.code).toBe(0);
    await a.process.start();

    const health = await agreedLeader([a], ['node-a']);
    expect(health.members.map((m) => m.node)).toEqual(['node-a']);
    const after = await shardEpochs();
    expect(after.owners).toEqual(['node-a']);
    expect(after.min).toBe(after.max);
    expect(after.min).toBeGreaterThan(before.max);
    const peers = await a.process.api<{ members: { node: string }[] }>('GET', '/peers');
    expect(peers.members.map((m) => m.node)).toEqual(['node-a']);

    // A new node joins ahead of its first start, then starts with no token at all.
    const d = await ClusterMember.create(root, { name: 'node-d', adminToken: a.process.adminToken });
    const token = await a.joinToken();
    // The token from a file: it never stands on a command line (ps, shell history).
    const tokenFile = path.join(root, 'join-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const joined = await kiciAdmin(a.url, a.process.adminToken, ['join', '--token', `@${tokenFile}`, '--peer', a.address, '--address', d.address, '--data-dir', d.dataDir, '--instance-id', 'node-d']);
    expect(joined.code, joined.stderr).toBe(0);
    expect(joined.stdout).toContain('node node-d joined cluster');
    expect(joined.stdout).not.toContain(token.split('.')[3]!);
    await d.process.start();
    await agreedLeader([a, d], ['node-a', 'node-d']);

    // Revoking one of two voters leaves the other leading: the vote is removed while the revoked
    // node can still acknowledge it, and only then are its links cut.
    const revoked = await a.process.api<{ revoked: boolean }>('DELETE', '/peers/node-d');
    expect(revoked.revoked).toBe(true);
    const alone = await agreedLeader([a], ['node-a']);
    expect(alone.members.map((m) => m.node)).toEqual(['node-a']);
    expect(await a.ready()).toBe(200);
  });
});
