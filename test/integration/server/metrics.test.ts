import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorRig, sample, waitFor, type GitOrigin, type RawAgent } from './orchestrator-rig.js';

/**
 * Every metric seed 003 lists, driven by real deliveries and a real agent socket, read back from
 * `/metrics` as Prometheus would.
 */
let rig: OrchestratorRig;
let source: GitOrigin;
let token: string;

beforeAll(async () => {
  rig = await OrchestratorRig.start();
  source = await rig.gitSource();
  token = await rig.agentToken();
});

afterAll(async () => {
  await rig?.close();
});

const pending = 'status="pending"';
const awaitingAck = 'status="dispatched"';

async function metricReaches(name: string, labels: string, value: number): Promise<string> {
  return waitFor(`${name}{${labels}} to reach ${value}`, async () => {
    const m = await rig.metrics();
    return sample(m, name, labels) === value ? m : undefined;
  });
}

/** Take the dispatch, acknowledge it and report the job finished, as an agent would. */
async function finishNextJob(agent: RawAgent, seen: number): Promise<string> {
  const dispatch = await waitFor('a job.dispatch', async () => agent.frames.filter((f) => f.type === 'job.dispatch')[seen]);
  const job = { runId: dispatch.runId as string, jobId: dispatch.jobId as string };
  agent.send({ type: 'job.ack', ...job });
  agent.send(agent.stamped({ type: 'job.status', ...job, state: 'running' }));
  const done = agent.stamped({ type: 'job.status', ...job, state: 'success' });
  agent.send(done);
  await agent.next('ack', (f) => f.messageId === done.messageId);
  return job.runId;
}

describe('/metrics', () => {
  it('names every seed-003 metric exactly, before anything happened', async () => {
    const m = await rig.metrics();
    for (const name of [
      'kici_webhooks_received_total',
      'kici_webhooks_processed_total',
      'kici_trigger_match_duration_seconds',
      'kici_lockfile_cache_hits_total',
      'kici_lockfile_cache_misses_total',
      'kici_agents_active',
      'kici_dispatch_queue_depth',
      'kici_jobs_dispatched_total',
      'kici_platform_connection_status',
      'kici_dedup_hits_total',
    ]) {
      expect(m, name).toContain(`# TYPE ${name} `);
    }
    expect(sample(m, 'kici_agents_active')).toBe(0);
    expect(sample(m, 'kici_dispatch_queue_depth', pending)).toBe(0);
    // Independent mode has no Platform relay: the connection is reported down, not left out.
    expect(sample(m, 'kici_platform_connection_status')).toBe(0);
  });

  it('shows every known label set at 0 before its first event', async () => {
    const m = await rig.metrics();
    // sample() reads an absent series as 0 too; these lines must be in the exposition itself.
    for (const result of ['matched', 'skipped', 'error']) expect(m).toContain(`kici_webhooks_processed_total{result="${result}"} 0\n`);
    for (const event of ['push', 'tag']) expect(m).toContain(`kici_webhooks_received_total{source="git",event="${event}"} 0\n`);
    expect(m).toContain(`kici_dispatch_queue_depth{status="dispatched"} 0\n`);
  });

  it("names prom-client's process and Node.js metrics with one kici_ prefix", async () => {
    const m = await rig.metrics();
    expect(m).toContain('# TYPE kici_process_cpu_user_seconds_total counter');
    expect(m).toContain('# TYPE kici_nodejs_heap_size_total_bytes gauge');
    expect(m).not.toMatch(/kici_process_(process|nodejs)_/);
  });

  it('moves every one of them through deliveries, a duplicate and an agent', async () => {
    expect((await rig.push(source, 'delivery-1')).status).toBe(202);
    // No agent yet: the job waits in the dispatch queue.
    let m = await metricReaches('kici_dispatch_queue_depth', pending, 1);
    expect(sample(m, 'kici_webhooks_received_total', 'source="git",event="push"')).toBe(1);
    expect(sample(m, 'kici_webhooks_processed_total', 'result="matched"')).toBe(1);
    expect(sample(m, 'kici_lockfile_cache_misses_total')).toBe(1);
    expect(sample(m, 'kici_lockfile_cache_hits_total')).toBe(0);
    expect(sample(m, 'kici_trigger_match_duration_seconds_count')).toBe(1);
    expect(sample(m, 'kici_trigger_match_duration_seconds_sum')).toBeGreaterThan(0);

    // The same delivery again is answered from the first outcome.
    const again = await rig.push(source, 'delivery-1');
    expect(again.status).toBeLessThan(300);
    m = await metricReaches('kici_dedup_hits_total', '', 1);
    expect(sample(m, 'kici_webhooks_processed_total', 'result="matched"')).toBe(1);

    // A push of another commit is another run.
    const next = rig.nextCommit(source);
    expect((await rig.push(next, 'delivery-2')).status).toBe(202);
    m = await metricReaches('kici_dispatch_queue_depth', pending, 2);
    expect(sample(m, 'kici_lockfile_cache_misses_total')).toBe(2);
    expect(sample(m, 'kici_trigger_match_duration_seconds_count')).toBe(2);
    // Received counts deliveries taken in; the duplicate is counted by kici_dedup_hits_total instead.
    expect(sample(m, 'kici_webhooks_received_total', 'source="git",event="push"')).toBe(2);

    // That commit again under another delivery id (a spooled copy, a reconcile) reads the lock file
    // from the cache and is a duplicate of the push that has the run: skipped, no second run.
    expect((await rig.push(next, 'delivery-3')).status).toBe(202);
    m = await metricReaches('kici_webhooks_processed_total', 'result="skipped"', 1);
    expect(sample(m, 'kici_lockfile_cache_hits_total')).toBe(1);
    expect(sample(m, 'kici_lockfile_cache_misses_total')).toBe(2);
    // It was matched (the push is claimed in the statement that would write its runs), not run.
    expect(sample(m, 'kici_trigger_match_duration_seconds_count')).toBe(3);
    expect(sample(m, 'kici_dispatch_queue_depth', pending)).toBe(2);
    expect(sample(m, 'kici_jobs_dispatched_total')).toBe(0);

    const agent = await rig.connectAgent('agent-metrics', token);
    m = await metricReaches('kici_agents_active', '', 1);
    await waitFor('the first dispatch', async () => agent.frames.find((f) => f.type === 'job.dispatch'));
    m = await metricReaches('kici_jobs_dispatched_total', '', 1);
    expect(sample(m, 'kici_dispatch_queue_depth', pending)).toBe(1);

    const first = await finishNextJob(agent, 0);
    const second = await finishNextJob(agent, 1);
    m = await metricReaches('kici_jobs_dispatched_total', '', 2);
    m = await metricReaches('kici_dispatch_queue_depth', pending, 0);
    expect(sample(m, 'kici_dispatch_queue_depth', awaitingAck)).toBe(0);
    expect(first).not.toBe(second);
    for (const runId of [first, second]) {
      const run = await waitFor(`run ${runId} to finish`, async () => {
        const r = await rig.api('GET', `/runs/${runId}`);
        return r.status === 'success' ? r : undefined;
      });
      expect(run.status).toBe('success');
    }

    agent.close();
    await metricReaches('kici_agents_active', '', 0);
  });
});
