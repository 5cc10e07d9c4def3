/**
 * Issue 13, edge workers: an edge worker (no database) joins three coordinators with a worker
 * token and hosts two agents. Jobs whose runs live on the coordinators run on those agents; the
 * worker is then cut off from every coordinator (each coordinator partitions it: the links close
 * and none forms again until healed) while the agents finish. The worker holds every report in
 * its outbox; the owners hold the running jobs as `recovering`. Once the cut heals, every result
 * is applied exactly once. Then the same with the worker killed -9 mid-outage and restarted still
 * cut off: its outbox on disk is replayed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDatabaseView } from '../../../chaos/index.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { postPush, pushBranch, type SignedSource } from '../cluster/scenario-kit.js';
import { ClusterMember, clusterRoot, EdgeWorkerProcess, formCluster, GitRepo, kiciAdminJson, killAll, startAgent, waitUntil, type NodeProcess } from '../harness/index.js';

interface RunView {
  id: string;
  status: string;
  jobs: { id: string; name: string; status: string; agentId: string | null; attempts: number }[];
}

/** The cut lasts this long at least (the scenario), and until every result is held. */
const CUT_MS = 30_000;
const JOBS = ['one', 'two'];
const SECRET = 'a-webhook-secret-for-the-test';

/** Three coordinators (or `names`), a worker joined with a worker token, two agents on the worker. */
async function edgeCluster(root: string, databaseUrl: string, names?: string[], env: Record<string, string> = {}) {
  const nodes = await formCluster(root, databaseUrl, names, { KICI_GIT_RECONCILE_INTERVAL_MS: '3600000', ...env });
  const api = <T>(method: string, route: string, body?: unknown) => nodes[0]!.process.api<T>(method, route, body);
  const joinToken = (await api<{ token: string }>('POST', '/peers/tokens', { role: 'worker' })).token;
  const worker = new EdgeWorkerProcess({
    name: 'edge-1',
    dataDir: path.join(root, 'edge-1'),
    logFile: path.join(root, 'edge-1.log'),
    coordinators: [nodes[nodes.length - 1]!.address],
    joinToken,
    env: { KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS: '500' },
  });
  await worker.start();
  const agents: NodeProcess[] = [];
  for (const name of ['edge-agent-1', 'edge-agent-2']) {
    const token = (await api<{ token: string }>('POST', '/agent-tokens', { name })).token;
    const workDir = path.join(root, name);
    mkdirSync(workDir, { recursive: true });
    agents.push(startAgent({ url: worker.wsUrl, token, workDir, labels: ['edge'], logFile: path.join(root, `${name}.log`), maxReconnectDelayMs: 500, extraEnv: { KICI_AGENT_SANDBOX: 'none' } }));
  }
  await waitUntil('both agents to be offered by the worker', async () => {
    const status = await api<{ members: { node: string; held: { agents: number } | null }[] }>('GET', '/cluster/status');
    return status.members.find((m) => m.node === 'edge-1')?.held?.agents === 2 ? true : undefined;
  }, { timeoutMs: 30_000, describe: () => worker.tail() });
  const repo = new GitRepo(path.join(root, 'repo'));
  const secretFile = path.join(root, 'repo.secret');
  writeFileSync(secretFile, SECRET, { mode: 0o600 });
  const sourceId = (await kiciAdminJson<{ id: string }>(nodes[0]!.url, nodes[0]!.process.adminToken, ['source', 'add', 'git', '--org', 'e2e', '--name', 'edge', '--url', repo.originUrl, '--default-branch', 'main', '--secret', '@' + secretFile])).id;
  /** Every coordinator partitions the worker (its links close and none forms) or heals it. */
  const partition = async (action: 'cut' | 'heal') => {
    for (const n of nodes) await n.process.api('POST', '/cluster/faults', action === 'cut' ? { action, peer: 'edge-1', direction: 'both' } : { action, peer: 'edge-1' });
  };
  return { nodes, api, worker, agents, repo, sourceId, partition };
}

/** Commit a lock file whose jobs run on the worker's agents, each waiting for `flag` before it ends. */
function edgeWorkflow(repo: GitRepo, name: string, flag: string, branches = ['main']): void {
  repo.commitLockfile({
    schemaVersion: 1,
    workflows: [
      {
        name,
        triggers: [{ _type: 'push', branches }],
        jobs: JOBS.map((job) => ({ name: job, runsOn: ['edge'], steps: [{ run: `echo ${job}-start; while [ ! -f '${flag}' ]; do sleep 0.1; done; echo ${job}-end` }] })),
      },
    ],
  });
}

describe('an edge worker cut off from every coordinator', () => {
  const root = clusterRoot();
  let databaseUrl: string;
  let edge: Awaited<ReturnType<typeof edgeCluster>>;
  let worker: EdgeWorkerProcess;
  let agents: NodeProcess[];
  let repo: GitRepo;
  let sourceId: string;

  const admin = () => edge.nodes[0]!;
  const api = <T>(method: string, route: string, body?: unknown) => admin().process.api<T>(method, route, body);
  const partition = (action: 'cut' | 'heal') => edge.partition(action);

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl();
    edge = await edgeCluster(root, databaseUrl);
    ({ worker, agents, repo, sourceId } = edge);
  }, 240_000);

  afterAll(async () => {
    await killAll();
  });

  /** A run of two jobs on the worker's agents, each waiting for `flag` before it finishes. */
  async function startRun(flag: string): Promise<{ runId: string; view: () => Promise<RunView> }> {
    edgeWorkflow(repo, `edge-${path.basename(flag)}`, flag);
    repo.push('main');
    const triggered = await kiciAdminJson<{ runs: { id: string }[] }>(admin().url, admin().process.adminToken, ['runs', 'trigger', '--source', sourceId, '--ref', 'main']);
    const runId = triggered.runs[0]!.id;
    const view = () => api<RunView>('GET', `/runs/${runId}`);
    await waitUntil('both jobs to run on the edge agents', async () => ((await view()).jobs.every((j) => j.status === 'running') ? true : undefined), { timeoutMs: 60_000, describe: async () => JSON.stringify(await view()) });
    return { runId, view };
  }

  /** Every job once: one row each, one dispatch, success; each started once by an agent. */
  async function expectedOnce(runId: string, view: () => Promise<RunView>): Promise<void> {
    const run = await waitUntil('the run to finish', async () => {
      const r = await view();
      return ['success', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
    }, { timeoutMs: 60_000, describe: async () => `${JSON.stringify(await view())}\n${worker.tail(15)}` });
    expect(run.status, JSON.stringify(run.jobs)).toBe('success');
    const jobs = (await readDatabaseView(databaseUrl)).jobs.filter((j) => j.runId === runId);
    expect(jobs).toHaveLength(JOBS.length);
    for (const j of jobs) expect(j).toMatchObject({ status: 'success', dispatchAttempts: 1 });
    const output = agents.map((a) => a.output()).join('\n');
    for (const j of jobs) expect(output.split('\n').filter((l) => l.includes(j.id) && l.includes('"decision":"accepted"'))).toHaveLength(1);
    // Log chunks are stored beside the results, not before them: a run can be over while its last
    // replayed chunk is still being appended, so wait for every job's last line.
    const readLogs = () => fetch(`${admin().url}/api/v1/runs/${runId}/logs`, { headers: { authorization: `Bearer ${admin().process.adminToken}` } }).then((r) => r.text());
    const logs = await waitUntil('every job\'s last log line', async () => {
      const text = await readLogs();
      return JOBS.every((name) => text.includes(`${name}-end`)) ? text : undefined;
    }, { timeoutMs: 15_000, describe: readLogs });
    for (const name of JOBS) expect(logs).toContain(`${name}-end`);
  }

  it('forwards the webhooks it is sent to a coordinator, and answers 503 with Retry-After while it reaches none', async () => {
    const flag = path.join(root, 'finish-webhook');
    writeFileSync(flag, '');
    edgeWorkflow(repo, 'edge-webhook', flag, ['wh-**']);
    repo.push('main');
    const source: SignedSource = { id: sourceId, orgId: 'e2e', secret: SECRET };
    const sha = pushBranch(repo, 'wh-1');
    const sent = await postPush(worker, source, 'wh-1', sha);
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    const runs = () => api<{ runs: { id: string; deliveryId: string | null; status: string }[] }>('GET', '/runs');
    const run = await waitUntil('the forwarded delivery\'s run to succeed', async () => (await runs()).runs.find((r) => r.deliveryId === sent.deliveryId && r.status === 'success'), { timeoutMs: 60_000, describe: async () => JSON.stringify(await runs()) });
    // Run by the agents behind the worker (the only ones with the label).
    const detail = await api<RunView>('GET', `/runs/${run.id}`);
    const accepted = agents.map((a) => a.output()).join('\n').split('\n').filter((l) => l.includes('"decision":"accepted"'));
    for (const j of detail.jobs) expect(accepted.filter((l) => l.includes(j.id))).toHaveLength(1);

    await partition('cut');
    await waitUntil('the worker to see no coordinator', async () => ((await worker.readiness()).status === 503 ? true : undefined), { timeoutMs: 15_000 });
    const refused = await postPush(worker, source, 'wh-2', pushBranch(repo, 'wh-2'));
    expect(refused.status).toBe(503);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(JSON.stringify(refused.body)).toContain('no_coordinator');
    await partition('heal');
    await waitUntil('the worker to reach a coordinator again', async () => ((await worker.readiness()).status === 200 ? true : undefined), { timeoutMs: 15_000 });
  }, 120_000);

  it('holds the results while cut off and applies each once when the cut heals', async () => {
    const flag = path.join(root, 'finish-cut');
    const { runId, view } = await startRun(flag);
    const cutAt = Date.now();
    await partition('cut');
    await waitUntil('the worker to see no coordinator', async () => ((await worker.readiness()).status === 503 ? true : undefined), { timeoutMs: 15_000 });
    await waitUntil('the owners to hold the jobs as recovering', async () => ((await view()).jobs.every((j) => j.status === 'recovering') ? true : undefined), { timeoutMs: 15_000, describe: async () => JSON.stringify(await view()) });
    writeFileSync(flag, '');
    const held = await waitUntil('both results held in the worker\'s outbox', async () => {
      const r = await worker.readiness();
      const finished = agents.map((a) => a.output()).join('\n').split('\n').filter((l) => l.includes('"msg":"job finished"')).length;
      return finished >= JOBS.length && r.held.outboxDepth >= JOBS.length ? r : undefined;
    }, { timeoutMs: 30_000, describe: async () => JSON.stringify(await worker.readiness()) });
    expect(held.held.outboxBytes).toBeGreaterThan(0);
    // Still recovering on the owners: nothing reached them.
    expect((await view()).jobs.map((j) => j.status)).toEqual(['recovering', 'recovering']);
    const rest = CUT_MS - (Date.now() - cutAt);
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    await partition('heal');
    await expectedOnce(runId, view);
    await waitUntil('the outbox to be empty', async () => ((await worker.readiness()).held.outboxDepth === 0 ? true : undefined), { timeoutMs: 15_000 });
    expect(await worker.metrics()).toMatch(/kici_worker_replayed_total [1-9]/);
  }, 180_000);

  it('replays its outbox after it is killed -9 and restarted while still cut off', async () => {
    const flag = path.join(root, 'finish-kill');
    const { runId, view } = await startRun(flag);
    await partition('cut');
    await waitUntil('the owners to hold the jobs as recovering', async () => ((await view()).jobs.every((j) => j.status === 'recovering') ? true : undefined), { timeoutMs: 15_000 });
    writeFileSync(flag, '');
    await waitUntil('both results held in the worker\'s outbox', async () => ((await worker.readiness()).held.outboxDepth >= JOBS.length ? true : undefined), { timeoutMs: 30_000 });
    await worker.kill9();
    await worker.start({ connected: false });
    const restarted = await worker.readiness();
    expect(restarted.status).toBe(503);
    expect(restarted.held.outboxDepth).toBeGreaterThanOrEqual(JOBS.length);
    await partition('heal');
    await expectedOnce(runId, view);
  }, 180_000);
});

describe('an edge worker out of reach for longer than KICI_CLUSTER_WORKER_OUTAGE_MAX_MS', () => {
  const root = clusterRoot();
  let edge: Awaited<ReturnType<typeof edgeCluster>>;

  beforeAll(async () => {
    edge = await edgeCluster(root, await freshDatabaseUrl(), ['solo'], { KICI_CLUSTER_WORKER_OUTAGE_MAX_MS: '3000' });
  }, 180_000);

  afterAll(async () => {
    await killAll();
  });

  it('fails the jobs it held once the limit passes; the results replayed later change nothing', async () => {
    const { api, repo, sourceId, worker, partition } = edge;
    const flag = path.join(root, 'finish-late');
    edgeWorkflow(repo, 'edge-late', flag);
    repo.push('main');
    const triggered = await kiciAdminJson<{ runs: { id: string }[] }>(edge.nodes[0]!.url, edge.nodes[0]!.process.adminToken, ['runs', 'trigger', '--source', sourceId, '--ref', 'main']);
    const view = () => api<RunView & { jobs: { error: string | null }[] }>('GET', `/runs/${triggered.runs[0]!.id}`);
    await waitUntil('both jobs to run', async () => ((await view()).jobs.every((j) => j.status === 'running') ? true : undefined), { timeoutMs: 60_000 });
    await partition('cut');
    const failed = await waitUntil('the held jobs to fail past the outage limit', async () => {
      const r = await view();
      return r.jobs.every((j) => j.status === 'failed') ? r : undefined;
    }, { timeoutMs: 30_000, describe: async () => JSON.stringify(await view()) });
    for (const j of failed.jobs) expect(j.error).toMatch(/recovery window/);
    writeFileSync(flag, '');
    await waitUntil('both results held in the worker\'s outbox', async () => ((await worker.readiness()).held.outboxDepth >= JOBS.length ? true : undefined), { timeoutMs: 30_000 });
    await partition('heal');
    await waitUntil('the outbox to be replayed', async () => ((await worker.readiness()).held.outboxDepth === 0 ? true : undefined), { timeoutMs: 30_000 });
    const after = await view();
    expect(after.jobs.map((j) => j.status)).toEqual(['failed', 'failed']);
    expect(after.status).toBe('failed');
  }, 120_000);
});
