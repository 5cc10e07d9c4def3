/**
 * Retention over the store (issue 19), on both drivers, with an injected clock: which bodies and
 * step logs a tick removes, in bounded batches, what stays, and that a repeat removes nothing.
 *
 * Tests share one store per driver and retention's reads are global (every organisation), so each
 * test lives in its own era, earlier than the previous test's: rows an earlier test left are in
 * the later test's future, never old enough to be touched.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { shardOf } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { CoordinatorDuties, SingleNodeLeadership } from '../../../src/cluster/index.js';
import { DAY_MS, Retention, RETENTION_TICK_MS, retentionDuty, type RetentionKind } from '../../../src/retention/index.js';
import { openDatabaseStorage, readDeliveryCopy, storeDeliveryCopy } from '../../../src/store/index.js';
import type { RunStatus } from '../../../src/vocabulary/index.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const YEAR = 365 * DAY_MS;
const POLICY = { deliveryDays: 30, logDays: 90 };
let eras = 0;
/** This test's "now": 20 years before the previous test's. */
const newEra = () => Date.parse('2026-06-01T00:00:00Z') - ++eras * 20 * YEAR;

describeOnBothDrivers('retention', (store) => {
  beforeAll(async () => {
    await store().shards.seed('node-a');
  });

  const storage = () => openDatabaseStorage(store());

  /** A delivery received at `at`, processed unless `received`, with its gzipped copy. */
  async function delivery(orgId: string, at: number, status: 'processed' | 'received' = 'processed'): Promise<string> {
    const deliveryId = `d-${randomUUID()}`;
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', id: deliveryId }));
    await store().deliveries.record({ orgId, deliveryId, sourceId: 'src_ret', sourceKind: 'generic', eventType: 'push', headers: {}, body }, new Date(at));
    if (status === 'processed') await store().deliveries.complete(orgId, deliveryId, { status: 'processed', matchedCount: 1, trace: { summary: 'kept' } }, new Date(at + 1000));
    await storeDeliveryCopy(storage().blobs, orgId, deliveryId, body);
    return deliveryId;
  }

  /** A run finished at `finishedAt` (unfinished when null), with a log for two steps of one job. */
  async function run(orgId: string, finishedAt: number | null, status: RunStatus = 'success'): Promise<string> {
    const id = randomUUID();
    const created = finishedAt ?? 0;
    await store().runs.create(
      { id, orgId, sourceId: 'src_ret', workflowName: 'ci', shard: shardOf(id), event: {}, status: finishedAt === null ? 'running' : status, finishedAt: finishedAt === null ? null : new Date(finishedAt), jobs: [], needs: [] },
      1,
      new Date(created),
    );
    const job = randomUUID();
    await storage().stepLogs.append(id, job, 0, 'hello\n');
    await storage().stepLogs.append(id, job, 1, 'world\n');
    return id;
  }

  const bodyOf = async (orgId: string, id: string) => (await store().deliveries.getWithBody(orgId, id))?.body.toString('utf8');
  const copyOf = async (orgId: string, id: string) => (await readDeliveryCopy(storage().blobs, orgId, id))?.toString('utf8') ?? null;

  function retentionAt(clock: ManualClock, batch?: { payloads?: number; runs?: number }) {
    const deleted: Record<RetentionKind, number> = { delivery_payload: 0, step_log: 0 };
    const retention = new Retention({ store: store(), ...storage(), clock, batch, onDeleted: (kind, n) => (deleted[kind] += n) });
    return { retention, deleted };
  }

  it('a tick drops the bodies of deliveries received before the retention and no longer received, with their copies; the rows stay', async () => {
    const now = newEra();
    const orgId = uniqueOrg();
    const old = await delivery(orgId, now - 40 * DAY_MS);
    const oldUnprocessed = await delivery(orgId, now - 40 * DAY_MS, 'received');
    const recent = await delivery(orgId, now - 10 * DAY_MS);
    const before = await store().deliveries.get(orgId, old);

    const clock = new ManualClock(now);
    const { retention, deleted } = retentionAt(clock);
    const duties = new CoordinatorDuties(new SingleNodeLeadership(), clock, (duty, e) => {
      throw new Error(`${duty} failed: ${(e as Error).message}`);
    });
    const duty = retentionDuty(retention, POLICY);
    expect(duty).toMatchObject({ name: 'retention', everyMs: RETENTION_TICK_MS });
    duties.add(duty);
    clock.advance(RETENTION_TICK_MS - 1);
    expect(await bodyOf(orgId, old)).toContain(old);
    clock.advance(1);
    await expect.poll(async () => (await store().deliveries.get(orgId, old))?.payloadRemovedAt).toEqual(new Date(now + RETENTION_TICK_MS));
    duties.stop();

    // The event log row keeps everything but the body.
    const after = await store().deliveries.get(orgId, old);
    expect(after).toMatchObject({ status: 'processed', matchedCount: 1, trace: { summary: 'kept' }, payloadHash: before!.payloadHash, payloadSize: before!.payloadSize, receivedAt: before!.receivedAt, processedAt: before!.processedAt });
    expect(await bodyOf(orgId, old)).toBe('');
    expect(await copyOf(orgId, old)).toBeNull();
    expect((await store().deliveries.list({ orgId })).map((d) => d.deliveryId).sort()).toEqual([old, oldUnprocessed, recent].sort());
    // Not yet processed: its body is what processing reads. Recent: inside the retention.
    for (const kept of [oldUnprocessed, recent]) {
      expect(await bodyOf(orgId, kept)).toContain(kept);
      expect(await copyOf(orgId, kept)).toContain(kept);
      expect((await store().deliveries.get(orgId, kept))?.payloadRemovedAt).toBeUndefined();
    }
    expect(deleted).toEqual({ delivery_payload: 1, step_log: 0 });
    // Idempotent: a repeat finds nothing more.
    expect(await retention.sweep(POLICY)).toEqual({ payloads: 0, logRuns: 0, logBytes: 0 });
  });

  it('a tick deletes the step logs of runs finished before the log retention, and the run records it', async () => {
    const now = newEra();
    const orgId = uniqueOrg();
    const old = await run(orgId, now - 100 * DAY_MS, 'failed');
    const recent = await run(orgId, now - 10 * DAY_MS);
    const unfinished = await run(orgId, null);
    const clock = new ManualClock(now);
    const { retention, deleted } = retentionAt(clock);

    // Two logs of 6 bytes each.
    expect(await retention.sweep(POLICY)).toEqual({ payloads: 0, logRuns: 1, logBytes: 12 });
    expect((await store().runs.get(old))?.logsRemovedAt).toEqual(new Date(now));
    expect(await storage().stepLogs.deleteRunLogs(old)).toBe(0);
    for (const kept of [recent, unfinished]) expect((await store().runs.get(kept))?.logsRemovedAt).toBeUndefined();
    // Their logs are still there: deleting them now (the test's own check) finds their 12 bytes.
    expect(await storage().stepLogs.deleteRunLogs(recent)).toBe(12);
    expect(await storage().stepLogs.deleteRunLogs(unfinished)).toBe(12);
    expect(deleted).toEqual({ delivery_payload: 0, step_log: 1 });
    expect(await retention.sweep(POLICY)).toEqual({ payloads: 0, logRuns: 0, logBytes: 0 });
  });

  it('does bounded work per tick: one batch of each kind, the oldest first', async () => {
    const now = newEra();
    const orgId = uniqueOrg();
    const ages = [50, 40, 60, 35, 45];
    const bodies: { days: number; id: string }[] = [];
    for (const days of ages) bodies.push({ days, id: await delivery(orgId, now - days * DAY_MS) });
    const runs: { days: number; id: string }[] = [];
    for (const days of [200, 100, 150]) runs.push({ days, id: await run(orgId, now - days * DAY_MS) });
    const clock = new ManualClock(now);
    const { retention, deleted } = retentionAt(clock, { payloads: 2, runs: 2 });

    expect(await retention.sweep(POLICY)).toEqual({ payloads: 2, logRuns: 2, logBytes: 24 });
    const removed = async () => {
      const gone: number[] = [];
      for (const b of bodies) if ((await store().deliveries.get(orgId, b.id))?.payloadRemovedAt) gone.push(b.days);
      return gone.sort((a, b) => a - b);
    };
    expect(await removed()).toEqual([50, 60]);
    expect((await store().runs.get(runs[0]!.id))?.logsRemovedAt).toBeDefined();
    expect((await store().runs.get(runs[1]!.id))?.logsRemovedAt).toBeUndefined();
    expect(await retention.sweep(POLICY)).toEqual({ payloads: 2, logRuns: 1, logBytes: 12 });
    expect(await retention.sweep(POLICY)).toEqual({ payloads: 1, logRuns: 0, logBytes: 0 });
    expect(await retention.sweep(POLICY)).toEqual({ payloads: 0, logRuns: 0, logBytes: 0 });
    expect(await removed()).toEqual([35, 40, 45, 50, 60]);
    expect(deleted).toEqual({ delivery_payload: 5, step_log: 3 });
  });

  it('keeps forever with 0 days', async () => {
    const now = newEra();
    const orgId = uniqueOrg();
    const body = await delivery(orgId, now - 10 * YEAR);
    const old = await run(orgId, now - 10 * YEAR);
    const { retention } = retentionAt(new ManualClock(now));
    expect(await retention.sweep({ deliveryDays: 0, logDays: 0 })).toEqual({ payloads: 0, logRuns: 0, logBytes: 0 });
    expect(await bodyOf(orgId, body)).toContain(body);
    expect((await store().runs.get(old))?.logsRemovedAt).toBeUndefined();
  });

  it("marks nothing for a deposed coordinator: its marks are fenced by the term of record", async () => {
    const now = newEra();
    const orgId = uniqueOrg();
    const old = await delivery(orgId, now - 40 * DAY_MS);
    const oldRun = await run(orgId, now - 100 * DAY_MS);
    const { retention } = retentionAt(new ManualClock(now));
    await store().coordinatorTerm.reset();
    expect(await store().coordinatorTerm.claim({ term: 5, node: 'node-b' }, new Date(now))).toBe(true);

    // Its deletes of expired objects went through (harmless: they were due), its marks did not.
    expect(await retention.sweep(POLICY, { term: 4, node: 'node-a' })).toMatchObject({ payloads: 0, logRuns: 0 });
    expect(await bodyOf(orgId, old)).toContain(old);
    expect((await store().runs.get(oldRun))?.logsRemovedAt).toBeUndefined();
    // The leader of record marks them (the objects the deposed one deleted are already gone).
    expect(await retention.sweep(POLICY, { term: 5, node: 'node-b' })).toMatchObject({ payloads: 1, logRuns: 1 });
    expect(await bodyOf(orgId, old)).toBe('');
    expect((await store().runs.get(oldRun))?.logsRemovedAt).toEqual(new Date(now));
  });

  it('purges on demand, batch after batch until nothing older is left', async () => {
    const now = newEra();
    const orgId = uniqueOrg();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await delivery(orgId, now - (2 + i) * DAY_MS));
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) runs.push(await run(orgId, now - (2 + i) * DAY_MS));
    const recent = await delivery(orgId, now - 6 * 60 * 60 * 1000);
    const waiting = await delivery(orgId, now - 10 * DAY_MS, 'received');
    const { retention, deleted } = retentionAt(new ManualClock(now), { payloads: 2, runs: 2 });

    expect(await retention.purge({ olderThanMs: DAY_MS, payloads: true, logs: false })).toEqual({ payloads: 5, logRuns: 0, logBytes: 0, before: new Date(now - DAY_MS) });
    for (const id of runs) expect((await store().runs.get(id))?.logsRemovedAt).toBeUndefined();
    expect(await retention.purge({ olderThanMs: DAY_MS, payloads: true, logs: true })).toEqual({ payloads: 0, logRuns: 3, logBytes: 36, before: new Date(now - DAY_MS) });
    expect(await bodyOf(orgId, recent)).toContain(recent);
    expect(await bodyOf(orgId, waiting)).toContain(waiting);
    expect(deleted).toEqual({ delivery_payload: 5, step_log: 3 });
  });
});
