/**
 * Runs move when their owner dies: three coordinators on one PostgreSQL, the node that made the
 * cluster owns every shard (rebalancing off), agents sit on the other two. Two runs are in flight
 * on the owner when it is killed -9: one whose job is running on an agent of node-b (across the
 * mesh), one whose job waits in the owner's queue for a label no agent has yet. The leader gives
 * the dead node's shards to the live ones; the gainers raise each shard's row and resume both
 * runs. The running job keeps running and reports to its new owner; the queued one is dispatched
 * once an agent with its label turns up. The chaos checker reads the journal every step wrote and
 * the database: every run finished, no job ran twice or on two agents, no stale write got through.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allHeld, checkInvariants, formatReport, journalStep, sampleDatabase } from '../../../chaos/index.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { ClusterMember, clusterRoot, formCluster, GitRepo, kiciAdminJson, killAll, startAgent, waitUntil } from '../harness/index.js';

interface RunView {
  id: string;
  status: string;
  jobs: { name: string; status: string; agentId: string | null; attempts: number }[];
}

describe('runs whose owner dies', () => {
  const root = clusterRoot();
  const journal = path.join(root, 'journal.ndjson');
  const flag = path.join(root, 'let-the-steady-job-finish');
  let databaseUrl: string;
  let a: ClusterMember;
  let b: ClusterMember;
  let c: ClusterMember;

  const agentOn = async (m: ClusterMember, name: string, labels: string[]) => {
    const token = (await b.process.api<{ token: string }>('POST', '/agent-tokens', { name })).token;
    const workDir = path.join(root, name);
    mkdirSync(workDir, { recursive: true });
    const agent = startAgent({
      url: `${m.url.replace(/^http/, 'ws')}/ws`,
      token,
      workDir,
      labels,
      logFile: path.join(root, `${name}.log`),
      maxReconnectDelayMs: 1000,
      // The journal is a host file: the steps must be able to append to it.
      extraEnv: { KICI_AGENT_SANDBOX: 'none' },
    });
    await waitUntil(`${name} to register`, () => (existsSync(agent.logFile) && readFileSync(agent.logFile, 'utf8').includes('registered with the orchestrator') ? true : undefined));
    return agent;
  };

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl();
    [a, b, c] = await formCluster(root, databaseUrl, undefined, { KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND: '0' });
    await agentOn(b, 'steady-on-b', ['steady']);
  }, 120_000);

  afterAll(async () => {
    // Set even when the test failed first: step loops waiting on it must end with the agents.
    writeFileSync(flag, '');
    await killAll();
  });

  it('are resumed by the nodes that gain their shards: a running job reports to its new owner, a queued one is dispatched, each once', async () => {
    const repo = new GitRepo(path.join(root, 'repo'));
    const secretFile = path.join(root, 'repo.secret');
    writeFileSync(secretFile, 'a-webhook-secret-for-the-test', { mode: 0o600 });
    const source = await kiciAdminJson<{ id: string }>(a.url, a.process.adminToken, ['source', 'add', 'git', '--org', 'e2e', '--name', 'moving', '--url', repo.originUrl, '--default-branch', 'main', '--secret', '@' + secretFile]);
    repo.commitLockfile({
      schemaVersion: 1,
      workflows: [
        // The step waits for the test's word, so the job is surely running when its owner dies.
        { name: 'steady', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'long', runsOn: ['steady'], steps: [{ run: journalStep(journal, `while [ ! -f '${flag}' ]; do sleep 0.05; done`) }] }] },
        { name: 'late', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'waits', runsOn: ['late'], steps: [{ run: journalStep(journal) }] }] },
      ],
    });
    repo.push('main');
    const samples = sampleDatabase({ databaseUrl, everyMs: 200 });
    const triggered = await kiciAdminJson<{ runs: { id: string; workflowName?: string }[] }>(b.url, a.process.adminToken, ['runs', 'trigger', '--source', source.id, '--ref', 'main']);
    expect(triggered.runs).toHaveLength(2);
    const view = (id: string) => b.process.api<RunView>('GET', `/runs/${id}`);
    const byJob = async (name: string) => {
      for (const r of triggered.runs) if ((await view(r.id)).jobs[0]?.name === name) return r.id;
      throw new Error(`no run has a job ${name}`);
    };
    const steady = await byJob('long');
    const late = await byJob('waits');
    await waitUntil('the steady job to run on node-b\'s agent', async () => ((await view(steady)).jobs[0]?.status === 'running' ? true : undefined));
    await waitUntil('the late job to wait in the owner\'s queue', async () => ((await view(late)).jobs[0]?.status === 'queued' ? true : undefined));

    await a.process.kill9();
    const metric = async (m: ClusterMember, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${m.url}/metrics`)).text())?.[1] ?? 0);
    await waitUntil('the survivors to own every shard', async () => ((await metric(b, 'kici_shards_owned')) + (await metric(c, 'kici_shards_owned')) === 256 ? true : undefined), { timeoutMs: 30_000 });
    writeFileSync(flag, '');
    await agentOn(c, 'late-on-c', ['late']);

    const finished = async (id: string) =>
      waitUntil(`run ${id} to finish on a surviving node`, async () => {
        const run = await view(id);
        return ['success', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
      }, { timeoutMs: 30_000 });
    const [steadyDone, lateDone] = [await finished(steady), await finished(late)];
    expect(steadyDone.status).toBe('success');
    expect(lateDone.status).toBe('success');
    // The running job was never dispatched again: it kept its agent and reported to the new owner.
    expect(steadyDone.jobs[0]?.attempts).toBe(1);
    expect((await metric(b, 'kici_orphans_reclaimed_total')) + (await metric(c, 'kici_orphans_reclaimed_total'))).toBe(2);

    const reports = await checkInvariants({ journal, databaseUrl, samples: await samples.stop() });
    const wanted = reports.filter((r) => r.invariant !== 1);
    expect(allHeld(wanted), formatReport(wanted)).toBe(true);
    // Both steps left their trace, once each.
    expect(readFileSync(journal, 'utf8').trim().split('\n').filter((l) => l.includes('"event":"start"'))).toHaveLength(2);
  });
});
