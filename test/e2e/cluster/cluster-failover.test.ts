/**
 * Runs move when their owner dies: three coordinators on one PostgreSQL, the node that made the
 * cluster owns every shard, agents sit on the other two. A run queued on the owner (it has no
 * agent) is still waiting when the owner is killed -9; the leader gives the dead node's shards to
 * the live ones, the gainer raises each shard's row and resumes the run, and its agent runs the job
 * to success, once.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { ClusterMember, clusterRoot, formCluster, GitRepo, kiciAdminJson, killAll, startAgent, waitUntil } from '../harness/index.js';

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [{ name: 'moving', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'only', steps: [{ run: 'echo ran-on-$(hostname)' }] }] }],
};

interface RunView {
  id: string;
  status: string;
  jobs: { name: string; status: string; agentId: string | null }[];
}

describe('a run whose owner dies', () => {
  const root = clusterRoot();
  let databaseUrl: string;
  let a: ClusterMember;
  let b: ClusterMember;
  let c: ClusterMember;

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl();
    [a, b, c] = await formCluster(root, databaseUrl);
    // One agent on each survivor-to-be, none on the owner.
    await Promise.all(
      [b, c].map(async (m) => {
        const token = (await a.process.api<{ token: string }>('POST', '/agent-tokens', { name: `agent-on-${m.name}` })).token;
        const workDir = path.join(root, `agent-on-${m.name}`);
        mkdirSync(workDir, { recursive: true });
        const agent = startAgent({ url: `${m.url.replace(/^http/, 'ws')}/ws`, token, workDir, logFile: path.join(root, `agent-on-${m.name}.log`), maxReconnectDelayMs: 1000 });
        await waitUntil(`the agent on ${m.name} to register`, () => (readFileSync(agent.logFile, 'utf8').includes('registered with the orchestrator') ? true : undefined));
        return agent;
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await killAll();
  });

  it('is resumed by the node that gains its shard, and its job runs once on that node\'s agent', async () => {
    const repo = new GitRepo(path.join(root, 'repo'));
    const secretFile = path.join(root, 'repo.secret');
    writeFileSync(secretFile, 'a-webhook-secret-for-the-test', { mode: 0o600 });
    const source = await kiciAdminJson<{ id: string }>(a.url, a.process.adminToken, ['source', 'add', 'git', '--org', 'e2e', '--name', 'moving', '--url', repo.originUrl, '--default-branch', 'main', '--secret', '@' + secretFile]);
    repo.commitLockfile(LOCKFILE);
    repo.push('main');
    const triggered = await kiciAdminJson<{ runs: { id: string }[] }>(b.url, a.process.adminToken, ['runs', 'trigger', '--source', source.id, '--ref', 'main']);
    const runId = triggered.runs[0]!.id;
    // The owner has no agent: the job waits in its queue.
    await waitUntil('the job to wait for an agent on the owner', async () => ((await b.process.api<RunView>('GET', `/runs/${runId}`)).jobs[0]?.status === 'queued' ? true : undefined));

    await a.process.kill9();
    const done = await waitUntil(
      'the run to finish on a surviving node',
      async () => {
        const run = await b.process.api<RunView>('GET', `/runs/${runId}`);
        return ['success', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(done.status).toBe('success');
    expect(done.jobs[0]?.agentId).toMatch(/./);

    // The gainer counted the run it took over; b forwarded the trigger's start to the owner.
    const metric = async (m: ClusterMember, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${m.url}/metrics`)).text())?.[1] ?? 0);
    expect((await metric(b, 'kici_orphans_reclaimed_total')) + (await metric(c, 'kici_orphans_reclaimed_total'))).toBe(1);
    expect(await metric(b, 'kici_actor_messages_forwarded_total')).toBeGreaterThanOrEqual(1);
    expect((await metric(b, 'kici_shards_owned')) + (await metric(c, 'kici_shards_owned'))).toBe(256);

    // Every shard now belongs to a live node, at an epoch above the dead owner's.
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const owners = (await client.query<{ owner_node: string; n: string; min: number }>('SELECT owner_node, count(*) AS n, min(epoch) AS min FROM shards GROUP BY owner_node')).rows;
      expect(owners.map((o) => o.owner_node).sort()).toEqual(['node-b', 'node-c']);
      expect(owners.reduce((sum, o) => sum + Number(o.n), 0)).toBe(256);
      for (const o of owners) expect(o.min).toBeGreaterThan(1);
      const steps = (await client.query<{ n: string }>("SELECT count(*) AS n FROM jobs WHERE run_id = $1 AND status = 'success'", [runId])).rows[0]!;
      expect(Number(steps.n)).toBe(1);
    } finally {
      await client.end();
    }
  });
});
