/**
 * A run started through a member that does not own the run's shard: the member records it and
 * hands it to the owner's run actor over the peer links, and the owner drives it to success with
 * its agent. Real processes, TLS on loopback, PostgreSQL, git.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { agreedLeader, ClusterMember, clusterRoot, freePort, Installation, kiciAdminJson, waitUntil, type GitSource } from '../harness/index.js';

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [{ name: 'hello', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'greet', steps: [{ run: 'echo hello from the owner' }] }] }],
};

describe('runs in a cluster', () => {
  let founder: Installation;
  let joiner: ClusterMember;
  let source: GitSource;

  beforeAll(async () => {
    const port = await freePort();
    founder = await Installation.create({
      databaseUrl: await freshDatabaseUrl(),
      // No rebalancing: node-a keeps every shard, so a job for node-b's agent crosses the mesh.
      env: {
        KICI_CLUSTER_INSTANCE_ID: 'node-a',
        KICI_CLUSTER_PORT: String(port),
        KICI_CLUSTER_ADDRESS: `127.0.0.1:${port}`,
        KICI_STORAGE_TYPE: 'database',
        KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND: '0',
      },
    });
    const { adminToken } = founder.orchestrator;
    const token = (await founder.orchestrator.api<{ token: string }>('POST', '/peers/tokens', { role: 'coordinator' })).token;
    joiner = await ClusterMember.create(clusterRoot(), { name: 'node-b', join: { token, peers: [`127.0.0.1:${port}`] }, adminToken });
    await joiner.process.start();
    await founder.startAgent();
    source = await founder.gitSource();
  }, 120_000);

  afterAll(async () => {
    await joiner?.process.kill9();
    await founder?.close();
  });

  it('a run triggered on a member that does not own its shard is driven to success by the owner', async () => {
    const health = await agreedLeader([joiner], ['node-a', 'node-b']);
    expect(health.members.map((m) => m.node).sort()).toEqual(['node-a', 'node-b']);
    source.repo.commitLockfile(LOCKFILE);
    source.repo.push('main');
    const triggered = await kiciAdminJson<{ runs: { id: string }[] }>(joiner.url, founder.orchestrator.adminToken, ['runs', 'trigger', '--source', source.id, '--ref', 'main']);
    expect(triggered.runs).toHaveLength(1);
    const done = await founder.waitForTerminal(triggered.runs[0]!.id);
    expect(done.status).toBe('success');
    const logs = await founder.logs(done.id);
    expect(logs.map((l) => l.text)).toContain('hello from the owner');
  });

  it('a job of a run node-a owns runs on an agent whose socket node-b holds, and reports back to node-a', async () => {
    const status = await founder.orchestrator.api<{ members: { node: string; shards: number }[] }>('GET', '/cluster/status');
    expect(Object.fromEntries(status.members.map((m) => [m.node, m.shards]))).toEqual({ 'node-a': 256, 'node-b': 0 });
    const far = await founder.startAgent({ name: 'gpu-agent', labels: ['gpu'], url: `${joiner.url.replace(/^http/, 'ws')}/ws` });
    source.repo.commitLockfile({
      schemaVersion: 1,
      workflows: [{ name: 'render', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'frames', runsOn: ['gpu'], steps: [{ run: 'echo rendered far away' }] }] }],
    });
    source.repo.push('main');
    const triggered = await kiciAdminJson<{ runs: { id: string }[] }>(founder.orchestrator.url, founder.orchestrator.adminToken, ['runs', 'trigger', '--source', source.id, '--ref', 'main']);
    const done = await founder.waitForTerminal(triggered.runs[0]!.id);
    expect(done.status).toBe('success');
    const farId = /"agentId":"([^"]+)","labels":\[[^\]]*"gpu"/.exec(far.output())?.[1];
    expect(farId).toBeTruthy();
    expect(done.jobs.map((j) => j.agentId)).toEqual([farId]);
    expect((await founder.logs(done.id)).map((l) => l.text)).toContain('rendered far away');
    await far.kill9();
  });

  it('revoking an agent token closes the sockets that use it on every member, not only the one asked', async () => {
    const issued = await founder.orchestrator.api<{ id: string; token: string }>('POST', '/agent-tokens', { name: 'far-agent' });
    const far = await founder.startAgent({ name: 'far-agent', token: issued.token, url: `${joiner.url.replace(/^http/, 'ws')}/ws`, maxReconnectDelayMs: 60_000 });
    const seen = far.output().length;
    const revoked = await founder.orchestrator.api<{ disconnected: number }>('POST', `/agent-tokens/${issued.id}/revoke`);
    expect(revoked.disconnected).toBe(1);
    await waitUntil('the far agent to be told its token was revoked', async () => (/revoked/i.test(far.output().slice(seen)) ? true : undefined));
  });
});
