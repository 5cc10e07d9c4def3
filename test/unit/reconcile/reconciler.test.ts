import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { Reconciler, type ReconcileDeps } from '../../../src/reconcile/index.js';
import type { Source } from '../../../src/store/index.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

const source = (id: string, extra: Partial<Source> = {}): Source => ({
  id,
  orgId: 'acme',
  kind: 'git',
  name: id,
  enabled: true,
  url: `file:///repos/${id}.git`,
  defaultBranch: 'main',
  verification: 'hmac_sha256',
  config: {},
  appId: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...extra,
});

/** Fakes for the store's repositories and the mirrors: just enough state to watch reconcile's writes. */
function rig(sources: Source[], mirrorTips: Record<string, { ref: string; sha: string }[]>) {
  const tips = new Map<string, string>();
  const baselines = new Set<string>();
  const deliveries = new Map<string, { status: 'received' | 'processed'; body: string }>();
  const processed: string[] = [];
  const deps: ReconcileDeps = {
    clock: new ManualClock(1_000),
    sourceToken: async () => null,
    mirrors: {
      async branchTips(s) {
        const found = mirrorTips[s.id];
        if (!found) throw new Error(`cannot fetch ${s.url}`);
        return found;
      },
    },
    process: async (key) => {
      processed.push(key.deliveryId);
      deliveries.get(key.deliveryId)!.status = 'processed';
    },
    store: {
      sources: { list: async () => sources },
      refTips: {
        list: async (id: string) => [...tips].filter(([k]) => k.startsWith(`${id} `)).map(([k, sha]) => ({ sourceId: id, ref: k.split(' ')[1]!, sha, updatedAt: new Date(0) })),
        hasBaseline: async (id: string) => baselines.has(id),
        recordBaseline: async (id: string, current: { ref: string; sha: string }[]) => {
          for (const t of current) if (!tips.has(`${id} ${t.ref}`)) tips.set(`${id} ${t.ref}`, t.sha);
          baselines.add(id);
        },
        advance: async (id: string, ref: string, sha: string) => void tips.set(`${id} ${ref}`, sha),
      },
      deliveries: {
        record: async (d: { deliveryId: string; body: Uint8Array }) => {
          const first = deliveries.get(d.deliveryId);
          if (first) return { outcome: 'duplicate', first: { deliveryId: d.deliveryId, status: first.status } };
          deliveries.set(d.deliveryId, { status: 'received', body: Buffer.from(d.body).toString() });
          return { outcome: 'accepted', delivery: { deliveryId: d.deliveryId } };
        },
        get: async (_org: string, id: string) => ({ deliveryId: id, status: deliveries.get(id)!.status, trace: null }),
      },
      runs: { listForDelivery: async (_org: string, id: string) => [{ id: `run-of-${id}` }] },
    } as unknown as ReconcileDeps['store'],
  };
  return { deps, tips, deliveries, processed };
}

describe('Reconciler', () => {
  it('takes a baseline on first sight, then records and processes a push delivery per moved branch', async () => {
    const mirror = { s1: [{ ref: 'refs/heads/main', sha: A }] };
    const r = rig([source('s1')], mirror);
    const reconciler = new Reconciler(r.deps);
    expect(await reconciler.reconcile(source('s1'))).toEqual({ sourceId: 's1', baseline: true, refs: [] });
    expect(r.processed).toEqual([]);

    mirror.s1 = [{ ref: 'refs/heads/main', sha: B }];
    const report = await reconciler.reconcile(source('s1'));
    const id = `reconcile:s1:refs/heads/main:${B}`;
    expect(report).toEqual({ sourceId: 's1', baseline: false, refs: [{ ref: 'refs/heads/main', before: A, sha: B, deliveryId: id, status: 'processed', runs: [`run-of-${id}`] }] });
    expect(r.processed).toEqual([id]);
    expect(JSON.parse(r.deliveries.get(id)!.body)).toEqual({ ref: 'refs/heads/main', before: A, after: B, repository: { name: 's1', url: 'file:///repos/s1.git' } });
  });

  it('a push whose reconcile delivery was recorded before is not processed again; the tip is set to it', async () => {
    const r = rig([source('s1')], { s1: [{ ref: 'refs/heads/main', sha: B }] });
    r.tips.set('s1 refs/heads/main', A);
    const reconciler = new Reconciler(r.deps);
    await reconciler.reconcile(source('s1'));
    // An older spooled push processed since pulled the recorded tip back.
    r.tips.set('s1 refs/heads/main', A);
    const again = await reconciler.reconcile(source('s1'));
    expect(r.processed).toHaveLength(1);
    expect(again.refs[0]).toMatchObject({ sha: B, status: 'processed', note: 'already recorded by an earlier reconcile (processed)' });
    expect(r.tips.get('s1 refs/heads/main')).toBe(B);
  });

  it('every enabled git source is reconciled; one that cannot be fetched is reported and the others go on', async () => {
    const sources = [source('broken'), source('off', { enabled: false }), source('s2')];
    const r = rig(sources, { s2: [] });
    const failures: string[] = [];
    const reports = await new Reconciler(r.deps).reconcileAll((id, e) => failures.push(`${id}: ${(e as Error).message}`));
    expect(reports.map((x) => x.sourceId)).toEqual(['s2']);
    expect(failures).toEqual(['broken: cannot fetch file:///repos/broken.git']);
  });
});
