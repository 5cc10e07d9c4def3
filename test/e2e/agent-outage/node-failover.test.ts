/**
 * Issue 13, agents: an agent given two orchestrator URLs moves to the second when its node is
 * stopped mid-job, and the job finishes there. Three coordinators on one PostgreSQL (so the two
 * left keep a Raft quorum); the founder owns every shard (rebalancing off), so the run lives on
 * node-a while its agent sits on node-b and then node-c: every report crosses the mesh to the
 * run's owner, and after the move it comes through another node than before.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDatabaseView } from '../../../chaos/index.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { ClusterMember, clusterRoot, formCluster, GitRepo, kiciAdminJson, killAll, startAgent, waitUntil, type NodeProcess } from '../harness/index.js';

interface RunView {
  id: string;
  status: string;
  jobs: { id: string; name: string; status: string; agentId: string | null; attempts: number }[];
}

const wsUrl = (m: ClusterMember) => `${m.url.replace(/^http/, 'ws')}/ws`;

describe('an agent whose orchestrator node is stopped mid-job', () => {
  const root = clusterRoot();
  const flag = path.join(root, 'let-the-job-finish');
  let databaseUrl: string;
  let a: ClusterMember;
  let b: ClusterMember;
  let c: ClusterMember;
  let agent: NodeProcess;

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl();
    [a, b, c] = await formCluster(root, databaseUrl, undefined, { KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND: '0', KICI_GIT_RECONCILE_INTERVAL_MS: '3600000' });
    const token = (await a.process.api<{ token: string }>('POST', '/agent-tokens', { name: 'mover' })).token;
    const workDir = path.join(root, 'mover');
    mkdirSync(workDir, { recursive: true });
    agent = startAgent({
      // Two nodes of the cluster, tried in this order.
      url: `${wsUrl(b)},${wsUrl(c)}`,
      token,
      workDir,
      labels: ['mover'],
      logFile: path.join(root, 'mover.log'),
      maxReconnectDelayMs: 1000,
      // The step waits for a host file: it must see the host's /tmp.
      extraEnv: { KICI_AGENT_SANDBOX: 'none' },
    });
    await waitUntil('the agent to register with node-b', () => {
      if (!agent.running) throw new Error(`agent exited:\n${agent.tail()}`);
      return existsSync(agent.logFile) && readFileSync(agent.logFile, 'utf8').includes('"msg":"registered with the orchestrator"') ? true : undefined;
    });
  }, 180_000);

  afterAll(async () => {
    // Set even when the test failed first: the step loop must end with the agent.
    writeFileSync(flag, '');
    await killAll();
  });

  it('moves to the next URL, keeps the job running, and the job finishes once, reported through the other node', async () => {
    expect(agent.output()).toContain(`"url":"${wsUrl(b)}"`);
    const repo = new GitRepo(path.join(root, 'repo'));
    const secretFile = path.join(root, 'repo.secret');
    writeFileSync(secretFile, 'a-webhook-secret-for-the-test', { mode: 0o600 });
    const source = await kiciAdminJson<{ id: string }>(a.url, a.process.adminToken, ['source', 'add', 'git', '--org', 'e2e', '--name', 'failover', '--url', repo.originUrl, '--default-branch', 'main', '--secret', '@' + secretFile]);
    repo.commitLockfile({
      schemaVersion: 1,
      workflows: [
        {
          name: 'moving',
          triggers: [{ _type: 'push', branches: ['main'] }],
          jobs: [{ name: 'long', runsOn: ['mover'], steps: [{ run: `echo moved-start; while [ ! -f '${flag}' ]; do sleep 0.1; done; echo moved-end` }] }],
        },
      ],
    });
    repo.push('main');
    const triggered = await kiciAdminJson<{ runs: { id: string }[] }>(a.url, a.process.adminToken, ['runs', 'trigger', '--source', source.id, '--ref', 'main']);
    expect(triggered.runs).toHaveLength(1);
    const runId = triggered.runs[0]!.id;
    const view = () => a.process.api<RunView>('GET', `/runs/${runId}`);
    await waitUntil('the job to run on the agent', async () => ((await view()).jobs[0]?.status === 'running' ? true : undefined), { timeoutMs: 30_000 });
    const before = (await view()).jobs[0]!;

    const seen = agent.output().length;
    await b.process.stop();
    await waitUntil('the agent to register with node-c', () => {
      const since = agent.output().slice(seen);
      return since.split('\n').some((l) => l.includes('"msg":"registered with the orchestrator"') && l.includes(`"url":"${wsUrl(c)}"`)) ? true : undefined;
    }, { timeoutMs: 30_000, describe: () => agent.tail(10) });
    // Still the same process and the same job: it was never stopped.
    expect(agent.running).toBe(true);
    writeFileSync(flag, '');

    const run = await waitUntil('the run to finish', async () => {
      const r = await view();
      return ['success', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
    }, { timeoutMs: 60_000, describe: async () => `${JSON.stringify(await view())}\n${a.process.tail(15)}\n${c.process.tail(15)}` });
    expect(run.status, JSON.stringify(run.jobs)).toBe('success');
    expect(run.jobs[0]).toMatchObject({ status: 'success', attempts: 1, agentId: before.agentId });

    // Exactly once in the database: one job row, dispatched once, finished.
    const jobs = (await readDatabaseView(databaseUrl)).jobs.filter((j) => j.runId === runId);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ status: 'success', dispatchAttempts: 1 });
    // The agent started it once.
    const accepted = agent.output().split('\n').filter((l) => l.includes(before.id) && l.includes('"decision":"accepted"'));
    expect(accepted).toHaveLength(1);
    // Its log goes on after the move, with the agent's gap marker where the link was lost.
    const logText = async () => {
      const res = await fetch(`${a.url}/api/v1/runs/${runId}/logs`, { headers: { authorization: `Bearer ${a.process.adminToken}` } });
      return res.ok ? await res.text() : '';
    };
    const text = await waitUntil('the log to end with moved-end', async () => ((await logText()).includes('moved-end') ? logText() : undefined), { timeoutMs: 15_000, describe: logText });
    expect(text).toContain('moved-start');
    expect(text).toMatch(/\[kici-agent\] reconnected after a \d+s outage/);
  });
});
