/**
 * Deliveries left `received` are resumed by the owner of their shard: `resume({ shards })` queues
 * only those shards' deliveries (and only those left behind, with `receivedBefore`), and a delivery
 * whose run creation is fenced off (this node's epoch for the run's shard is stale) stays
 * `received` for the owner instead of being marked failed. A generic delivery runs the workflow a
 * git source of its organisation registered, so no git is needed.
 */
import { pino } from 'pino';
import { beforeAll, expect, it } from 'vitest';
import { systemIds } from '../../../src/clock/index.js';
import { DeliveryProcessor } from '../../../src/deliveries/index.js';
import { EPOCH, metrics, T0, workflow } from './processor-fixture.js';
import { organisation as orgWithSources } from './processor-fixture.js';
import { deliveryShard, type BlobStore, type Source, type Store } from '../../../src/store/index.js';
import type { GitMirrors, LockfileReader } from '../../../src/workflows/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';


/** `count` delivery ids whose shards all differ. */
function idsInDistinctShards(prefix: string, count: number): string[] {
  const ids: string[] = [];
  const shards = new Set<number>();
  for (let i = 0; ids.length < count; i++) {
    const id = `${prefix}-${i}`;
    if (shards.has(deliveryShard(id))) continue;
    shards.add(deliveryShard(id));
    ids.push(id);
  }
  return ids;
}

describeOnBothDrivers('deliveries resumed by the owner of their shard', (store) => {
  beforeAll(async () => {
    // Every shard at EPOCH, as a cluster of one seeds them.
    await store().shards.seed('node-a', EPOCH);
  });

  const organisation = () => orgWithSources(store());

  function processor(s: Store, epochOf: (shard: number) => number, warnings: string[] = []): { processor: DeliveryProcessor; started: string[] } {
    const started: string[] = [];
    const log = pino({ level: 'silent' });
    log.warn = ((obj: unknown, msg?: string) => void warnings.push(msg ?? String(obj))) as typeof log.warn;
    const p = new DeliveryProcessor({
      store: s,
      clock: { now: () => T0 + 60_000 },
      ids: systemIds,
      epochOf,
      start: (runId) => void started.push(runId),
      mirrors: {} as GitMirrors,
      lockfiles: {} as LockfileReader,
      blobs: {} as BlobStore,
      sources: { source: (id) => s.sources.get(id), secret: async () => null },
      metrics,
      log,
    });
    return { processor: p, started };
  }

  const record = (orgId: string, source: Source, deliveryId: string, at: number) =>
    store().deliveries.record(
      { orgId, deliveryId, sourceId: source.id, sourceKind: 'generic', eventType: 'deploy', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"ok":true}') },
      new Date(at),
    );
  const status = async (orgId: string, deliveryId: string) => (await store().deliveries.get(orgId, deliveryId))?.status;

  it('resumes only the deliveries of the shards it is given, and only those left behind when asked', async () => {
    const { orgId, generic } = await organisation();
    const [ours, later, theirs] = idsInDistinctShards(`${orgId}-d`, 3);
    await record(orgId, generic, ours!, T0);
    await record(orgId, generic, later!, T0 + 10_000);
    await record(orgId, generic, theirs!, T0);
    const { processor: p, started } = processor(store(), () => EPOCH);

    // Left behind: received before T0 + 5 s; `later` is not, though it is in a shard given.
    expect(await p.resume({ shards: [deliveryShard(ours!), deliveryShard(later!)], receivedBefore: new Date(T0 + 5_000) })).toBeGreaterThanOrEqual(1);
    await p.idle();
    expect(await status(orgId, ours!)).toBe('processed');
    expect(await status(orgId, later!)).toBe('received');
    expect(await status(orgId, theirs!)).toBe('received');
    expect(started).toHaveLength(1);

    await p.resume({ shards: [deliveryShard(later!)] });
    await p.idle();
    expect(await status(orgId, later!)).toBe('processed');
    expect(await status(orgId, theirs!)).toBe('received');
    expect(await p.resume({ shards: [] })).toBe(0);
  });

  it('leaves a delivery whose run creation is fenced off received for the owner, which then runs it once', async () => {
    const { orgId, generic } = await organisation();
    const [id] = idsInDistinctShards(`${orgId}-fenced`, 1);
    await record(orgId, generic, id!, T0);
    const warnings: string[] = [];
    // This node's map is behind: it believes every shard is still at epoch 0.
    const behind = processor(store(), () => EPOCH - 1, warnings);
    await behind.processor.resume({ shards: [deliveryShard(id!)] });
    await behind.processor.idle();
    expect(await status(orgId, id!)).toBe('received');
    expect(behind.started).toEqual([]);
    expect(await store().runs.listForDelivery(orgId, id!)).toEqual([]);
    expect(warnings).toContain('delivery left received for the owner of its shard: a run it starts is fenced off here');

    // The owner, at the shard's epoch, resumes it: one run, started once, the delivery processed.
    const owner = processor(store(), () => EPOCH);
    await owner.processor.resume({ shards: [deliveryShard(id!)] });
    await owner.processor.idle();
    expect(await store().deliveries.get(orgId, id!)).toMatchObject({ status: 'processed', matchedCount: 1 });
    const runs = await store().runs.listForDelivery(orgId, id!);
    expect(runs.map((r) => r.workflowName)).toEqual(['deploy']);
    expect(owner.started).toEqual([runs[0]!.id]);
  });

  /** An organisation whose git source registered three workflows the generic delivery matches. */
  async function threeWorkflows(): Promise<{ orgId: string; generic: Source }> {
    const orgId = uniqueOrg();
    const generic = await store().sources.create({ orgId, kind: 'generic', name: 'hook', verification: 'none' });
    const git = await store().sources.create({ orgId, kind: 'git', name: 'repo', url: 'file:///nowhere', verification: 'hmac_sha256' });
    const registered = ['deploy', 'notify', 'audit'].map((name) => {
      const lockfile = { ...workflow, name, jobs: [{ name: 'a', steps: [{ run: 'true' }] }, { name: 'b', needs: ['a'], steps: [{ run: 'true' }, { run: 'true' }] }] };
      return { workflowName: name, triggers: workflow.triggers, lockfile };
    });
    await store().registrations.replace(git.id, 'a'.repeat(40), registered, new Date(T0));
    return { orgId, generic };
  }

  it('creates all the runs of a delivery matching three workflows and records its outcome in one transaction', async () => {
    const { orgId, generic } = await threeWorkflows();
    const [id] = idsInDistinctShards(`${orgId}-three`, 1);
    await record(orgId, generic, id!, T0);
    const { processor: p, started } = processor(store(), () => EPOCH);
    const sent: string[] = [];
    const stop = store().watchStatements((sql, kind) => void sent.push(kind === 'with' ? `with ${/^\s*with (\w+)/.exec(sql)?.[1]}` : kind));
    try {
      await p.resume({ shards: [deliveryShard(id!)] });
      await p.idle();
    } finally {
      stop();
    }
    const runs = await store().runs.listForDelivery(orgId, id!);
    expect(runs.map((r) => r.workflowName).sort()).toEqual(['audit', 'deploy', 'notify']);
    expect(await store().deliveries.get(orgId, id!)).toMatchObject({ status: 'processed', matchedCount: 3 });
    expect(started.sort()).toEqual(runs.map((r) => r.id).sort());
    // One statement: every shard row locked, the outcome, and each run with its jobs, needs and
    // steps. The outcome is not written again outside it, and no transaction is opened around it.
    expect(sent.filter((k) => k === 'with want' || k === 'update' || k === 'begin')).toEqual(['with want']);
  });

  it('creates none of a delivery\'s runs when one of them is fenced off, and leaves it received', async () => {
    const { orgId, generic } = await threeWorkflows();
    const [id] = idsInDistinctShards(`${orgId}-one-fenced`, 1);
    await record(orgId, generic, id!, T0);
    // This node is behind on the shard of the second run only.
    let asked = 0;
    const warnings: string[] = [];
    const behind = processor(store(), () => (++asked === 2 ? EPOCH - 1 : EPOCH), warnings);
    await behind.processor.resume({ shards: [deliveryShard(id!)] });
    await behind.processor.idle();
    expect(asked).toBe(3);
    expect(await status(orgId, id!)).toBe('received');
    expect(await store().runs.listForDelivery(orgId, id!)).toEqual([]);
    expect(behind.started).toEqual([]);
    expect(warnings).toContain('delivery left received for the owner of its shard: a run it starts is fenced off here');
  });

  it('completes a resumed delivery whose runs already exist without creating them again, and starts them', async () => {
    const { orgId, generic } = await threeWorkflows();
    const [id] = idsInDistinctShards(`${orgId}-half-done`, 1);
    await record(orgId, generic, id!, T0);
    // Left by a crash of an earlier version between its runs and its outcome: the runs are there, the delivery received.
    const first = processor(store(), () => EPOCH);
    await first.processor.resume({ shards: [deliveryShard(id!)] });
    await first.processor.idle();
    const existing = await store().runs.listForDelivery(orgId, id!);
    await queryBuilderOf(store()).updateTable('deliveries').set({ status: 'received', processed_at: null }).where('org_id', '=', orgId).where('delivery_id', '=', id!).execute();

    const again = processor(store(), () => EPOCH);
    await again.processor.resume({ shards: [deliveryShard(id!)] });
    await again.processor.idle();
    expect(await store().runs.listForDelivery(orgId, id!)).toEqual(existing);
    expect(await store().deliveries.get(orgId, id!)).toMatchObject({ status: 'processed', matchedCount: 3 });
    expect(again.started.sort()).toEqual(existing.map((r) => r.id).sort());
  });
});
