/**
 * The checker's view of a real PostgreSQL: rows written through the store, read back by
 * chaos/database-view.ts, sampled while they change, and judged.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants, judgeInvariants } from '../../../chaos/checker.js';
import { type DatabaseSamples, sampleDatabase } from '../../../chaos/database-samples.js';
import { readDatabaseView, readHoldsView } from '../../../chaos/database-view.js';
import { expectWorkflows } from '../../../chaos/expected-runs.js';
import { readJournal } from '../../../chaos/journal-reader.js';
import { FencedWriteError, type Store } from '../../../src/store/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { openTestStore } from '../../support/store-drivers.js';

const T0 = new Date('2026-03-01T12:00:00Z');

describe('database view [postgres]', () => {
  let store: Store;
  let url: string;
  let dataDir: string;
  const runId = randomUUID();
  const jobId = randomUUID();

  beforeAll(async () => {
    const opened = await openTestStore('postgres');
    store = opened.store;
    dataDir = opened.dataDir;
    url = opened.url as string;
    await store.shards.seed('node-a');
  });
  afterAll(async () => {
    await store?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads deliveries, runs, jobs and shards as the store wrote them, and judges them', async () => {
    await store.deliveries.record(
      { orgId: 'org', deliveryId: 'del-1', sourceId: 'src_app', sourceKind: 'generic', eventType: 'push', headers: {}, body: Buffer.from('{}') },
      T0,
    );
    await store.deliveries.complete('org', 'del-1', { status: 'processed', matchedCount: 1 }, T0);
    await store.runs.create(
      {
        id: runId,
        orgId: 'org',
        sourceId: 'src_app',
        deliveryId: 'del-1',
        workflowName: 'ci',
        shard: 7,
        event: { type: 'push' },
        jobs: [{ id: jobId, name: 'build', baseName: 'build', config: { steps: [{ run: 'true' }] }, needsSatisfied: true, steps: [{ name: 'compile' }] }],
        needs: [],
      },
      1,
      T0,
    );

    const samples = sampleDatabase({ databaseUrl: url, everyMs: 20 });
    await store.jobs.update(jobId, 1, { status: 'running', agentId: 'agent-a', dispatchAttempts: 1 });
    await waitForViews(samples, samples.taken + 2);
    // The shard moves to node-b; node-a, deposed, is refused from then on.
    expect(await store.shards.assign(7, 'node-b', 2)).toBe(true);
    await waitForViews(samples, samples.taken + 2);
    await expect(store.jobs.update(jobId, 1, { status: 'failed' })).rejects.toBeInstanceOf(FencedWriteError);
    await store.jobs.updateStatus(jobId, 2, 'success', T0);
    await store.runs.update(runId, 2, { status: 'success', finishedAt: T0 });
    const views = await samples.stop();
    expect(samples.failures).toBe(0);
    expect(views.length).toBeGreaterThanOrEqual(5);
    // The sampler saw the job running under node-a, and the shard at node-b before the job ended.
    expect(views.some((v) => v.jobs[0]?.status === 'running' && v.jobs[0].ownerEpoch === 1)).toBe(true);
    expect(views.some((v) => v.shards[7]?.epoch === 2 && v.jobs[0]?.status === 'running')).toBe(true);

    const view = await readDatabaseView(url);
    expect(view.deliveries).toEqual([expect.objectContaining({ orgId: 'org', deliveryId: 'del-1', status: 'processed', matchedCount: 1 })]);
    expect(view.runs).toEqual([
      expect.objectContaining({ id: runId, deliveryId: 'del-1', workflowName: 'ci', status: 'success', shard: 7, ownerEpoch: 2, parentRunId: null }),
    ]);
    expect(view.jobs).toEqual([
      expect.objectContaining({ id: jobId, runId, name: 'build', status: 'success', agentId: 'agent-a', dispatchAttempts: 1, ownerEpoch: 2 }),
    ]);
    expect(view.shards).toHaveLength(256);
    expect(view.shards[7]).toEqual({ shard: 7, ownerNode: 'node-b', epoch: 2 });
    expect(view.runs[0]?.version).toMatch(/^[0-9a-f]{32}$/);

    const journalDir = mkdtempSync(join(tmpdir(), 'kici-chaos-'));
    try {
      const journal = join(journalDir, 'journal.jsonl');
      const line = (event: string, atMicros: number, exit = '') =>
        `{"v":1,"event":"${event}","execution":"1-1","run":"${runId}","job":"${jobId}","jobName":"build","attempt":1,"agent":"","agentDir":"/work/a","stepFile":"step-0-attempt-1.out","at":${atMicros}${exit}}\n`;
      writeFileSync(journal, line('start', 1_000_000) + line('end', 2_000_000, ',"exit":0'));
      const reports = await checkInvariants({ journal, databaseUrl: url, samples: views, expect: expectWorkflows({ 'del-1': ['ci'] }), agentNames: { '/work/a': 'agent-a' } });
      expect(reports.map((r) => [r.invariant, r.held, r.evidence])).toEqual([
        [1, true, []],
        [2, true, []],
        [3, true, []],
        [6, true, []],
      ]);
      expect((await readJournal(journal, { agentNames: { '/work/a': 'agent-a' } })).entries[0]?.agent).toBe('agent-a');
    } finally {
      rmSync(journalDir, { recursive: true, force: true });
    }

    // A write that went around the fence at the deposed epoch, as a broken store would let through.
    await sql`update jobs set owner_epoch = 1, error = 'late' where id = ${jobId}`.execute(queryBuilderOf(store));
    const after = await readDatabaseView(url);
    const [, , , fence] = judgeInvariants({ journal: { entries: [], problems: [], found: true }, views: [view, after] });
    expect(fence?.held).toBe(false);
    expect(fence?.evidence).toEqual([expect.stringMatching(new RegExp(`^job ${jobId} "build" of run ${runId} was written at epoch 1 .* shard 7 had reached epoch 2 \\(owner node-b\\)`))]);
  });

  it('reads holds, their votes and the jobs they hold, and judges invariant 5 over them', async () => {
    const db = queryBuilderOf(store);
    const expires = new Date(T0.getTime() + 3000);
    const decided = new Date(T0.getTime() + 1000);
    const { rows } = await sql<{ id: string }>`
      insert into held_runs (org_id, run_id, job_id, gate, required_reviewers, status, expires_at, created_at, decided_at, decided_by, reason)
      values ('org', ${runId}, ${jobId}, 'reviewers', '["chaos-reviewer"]'::jsonb, 'approved', ${expires}, ${T0}, ${decided}, 'chaos-reviewer', 'review')
      returning id::text`.execute(db);
    const holdId = rows[0]!.id;
    await sql`insert into held_run_approvals (held_run_id, reviewer, decision, at) values (${holdId}, 'chaos-reviewer', 'approve', ${decided})`.execute(db);

    const holds = await readHoldsView(url);
    expect(holds.holds).toEqual([
      expect.objectContaining({ id: holdId, runId, jobId, jobName: 'build', deliveryId: 'del-1', environmentId: null, gate: 'reviewers', requiredReviewers: ['chaos-reviewer'], status: 'approved', expiresAt: expires, decidedAt: decided, decidedBy: 'chaos-reviewer' }),
    ]);
    expect(holds.votes).toEqual([{ holdId, reviewer: 'chaos-reviewer', decision: 'approve', reason: null, at: decided }]);
    expect(holds.jobs).toEqual([{ id: jobId, runId, name: 'build', status: 'success', error: 'late', runStatus: 'success' }]);

    const journalDir = mkdtempSync(join(tmpdir(), 'kici-chaos-'));
    try {
      const journal = join(journalDir, 'journal.jsonl');
      writeFileSync(journal, '');
      const reports = await checkInvariants({ journal, databaseUrl: url, holds: { answers: [] } });
      expect(reports.find((r) => r.invariant === 5)).toMatchObject({ verdict: 'held', evidence: [] });
      // The same hold, expired behind the harness's back though its approval was counted: decided twice.
      await sql`update held_runs set status = 'expired', decided_by = null where id = ${holdId}`.execute(db);
      const twice = (await checkInvariants({ journal, databaseUrl: url, holds: {} })).find((r) => r.invariant === 5);
      expect(twice?.verdict).toBe('broken');
      expect(twice?.evidence).toContainEqual(expect.stringContaining("is expired, though every listed reviewer's approval was counted (it was approved first)"));
      expect(twice?.evidence).toContainEqual(expect.stringContaining('is expired, yet its job ended success (late)'));
    } finally {
      rmSync(journalDir, { recursive: true, force: true });
    }
  });
});

/** Until the sampler has taken `count` views: each state the test made is in some view. */
async function waitForViews(samples: DatabaseSamples, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (samples.taken < count) {
    if (Date.now() > deadline) throw new Error(`the sampler took ${samples.taken} views, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
