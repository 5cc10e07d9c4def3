/**
 * A delivery the intake has just committed is processed from what the intake holds: no read-back
 * of its row, no second parse of its body. A delivery queued by key (resumed, re-delivered) still
 * reads its row, and only while it is `received`.
 */
import { pino } from 'pino';
import { beforeAll, expect, it, vi } from 'vitest';
import { systemIds } from '../../../src/clock/index.js';
import { DeliveryProcessor } from '../../../src/deliveries/index.js';
import { EPOCH, metrics, T0, workflow } from './processor-fixture.js';
import { organisation as orgWithSources } from './processor-fixture.js';
import { deliveryCopyKey, type BlobStore, type Store } from '../../../src/store/index.js';
import { ParsedLockfiles, type FoundLockfile, type GitMirrors, type LockfileReader } from '../../../src/workflows/index.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const headers = { 'content-type': 'application/json' };

describeOnBothDrivers('deliveries processed as the intake accepted them', (store) => {
  beforeAll(async () => {
    await store().shards.seed('node-a', EPOCH);
  });

  const organisation = () => orgWithSources(store());

  /** A processor over the store whose row read-backs are counted, and whose copies land in a Map. */
  function processor(s: Store, lockfiles = {} as LockfileReader) {
    const readBacks: string[] = [];
    const deliveries = Object.create(s.deliveries, {
      getWithBody: { value: (orgId: string, deliveryId: string) => (readBacks.push(deliveryId), s.deliveries.getWithBody(orgId, deliveryId)) },
    }) as Store['deliveries'];
    const copies = new Map<string, Uint8Array>();
    const blobs = { put: async (key: string, bytes: Uint8Array) => void copies.set(key, bytes) } as BlobStore;
    const started: string[] = [];
    const p = new DeliveryProcessor({
      store: { runs: s.runs, deliveries, registrations: s.registrations, sources: s.sources, refTips: s.refTips },
      clock: { now: () => T0 + 60_000 },
      ids: systemIds,
      epochOf: () => EPOCH,
      start: (runId) => void started.push(runId),
      mirrors: { syncMirror: async () => '/mirror' } as unknown as GitMirrors,
      lockfiles,
      blobs,
      sources: { source: (id) => s.sources.get(id), secret: async () => null },
      metrics,
      log: pino({ level: 'silent' }),
    });
    return { processor: p, readBacks, copies, started };
  }

  it('processes a freshly accepted delivery without reading its row back or parsing its body again', async () => {
    const { orgId, generic } = await organisation();
    // The row's body is not JSON: a second parse would fail the delivery. The intake's parse is what counts.
    const rawBody = Buffer.from('parsed by the intake already');
    const deliveryId = `${orgId}-fresh`;
    await store().deliveries.record({ orgId, deliveryId, sourceId: generic.id, sourceKind: 'generic', eventType: 'deploy', headers, body: rawBody }, new Date(T0));
    const { processor: p, readBacks, copies, started } = processor(store());

    p.accepted({ orgId, deliveryId, sourceId: generic.id, eventType: 'deploy', headers, rawBody, payload: { ok: true } });
    await p.idle();
    expect(readBacks).toEqual([]);
    expect(await store().deliveries.get(orgId, deliveryId)).toMatchObject({ status: 'processed', matchedCount: 1 });
    expect(started).toHaveLength(1);
    // The copy is kept beside processing (fire and forget), gzipped on the threadpool.
    await vi.waitFor(() => expect(copies.has(deliveryCopyKey(orgId, deliveryId))).toBe(true));
  });

  it('reads the row of a delivery queued by key, and leaves one that is no longer received', async () => {
    const { orgId, generic } = await organisation();
    const deliveryId = `${orgId}-resumed`;
    await store().deliveries.record({ orgId, deliveryId, sourceId: generic.id, sourceKind: 'generic', eventType: 'deploy', headers, body: Buffer.from('{"ok":true}') }, new Date(T0));
    const { processor: p, readBacks, started } = processor(store());

    p.enqueue({ orgId, deliveryId });
    await p.idle();
    expect(readBacks).toEqual([deliveryId]);
    expect(await store().deliveries.get(orgId, deliveryId)).toMatchObject({ status: 'processed', matchedCount: 1 });

    p.enqueue({ orgId, deliveryId });
    await p.idle();
    expect(readBacks).toEqual([deliveryId, deliveryId]);
    expect(started).toHaveLength(1);
  });

  it('records the outcome once when a delivery accepted here was already processed elsewhere', async () => {
    const { orgId, generic } = await organisation();
    const deliveryId = `${orgId}-twice`;
    const rawBody = Buffer.from('{"ok":true}');
    await store().deliveries.record({ orgId, deliveryId, sourceId: generic.id, sourceKind: 'generic', eventType: 'deploy', headers, body: rawBody }, new Date(T0));
    // The owner of its shard resumed it first and recorded `failed` (say): this node's outcome must not overwrite it.
    await store().deliveries.complete(orgId, deliveryId, { status: 'failed', error: 'elsewhere', matchedCount: 0 }, new Date(T0), 'received');
    const { processor: p } = processor(store());
    p.accepted({ orgId, deliveryId, sourceId: generic.id, eventType: 'deploy', headers, rawBody, payload: { ok: true } });
    await p.idle();
    expect(await store().deliveries.get(orgId, deliveryId)).toMatchObject({ status: 'failed', error: 'elsewhere' });
  });

  it('checks an unchanged lock file once and moves the registrations of default-branch pushes to the newest commit', async () => {
    const orgId = uniqueOrg();
    const git = await store().sources.create({ orgId, kind: 'git', name: 'repo', url: 'file:///nowhere', defaultBranch: 'main', verification: 'hmac_sha256' });
    // Every commit has the same lock file (same blob): pushes changed code only.
    const lock: FoundLockfile = { kind: 'found', text: JSON.stringify({ schemaVersion: 1, workflows: [workflow] }), blob: 'b'.repeat(40) };
    const parsed = new ParsedLockfiles();
    const lockfiles = { readAt: async () => lock, stats: () => ({ hits: 0, misses: 0 }), parse: (l: FoundLockfile) => parsed.parse(l.text, l.blob), parsed } as unknown as LockfileReader;
    const { processor: p } = processor(store(), lockfiles);
    const writes: string[] = [];
    for (const method of ['replace', 'advance'] as const) {
      const original = store().registrations[method].bind(store().registrations);
      vi.spyOn(store().registrations, method).mockImplementation(async (...args: unknown[]) => {
        writes.push(method);
        return (original as (...a: unknown[]) => Promise<never>)(...args);
      });
    }
    try {
      for (const n of [1, 2]) {
        const after = String(n).repeat(40);
        const payload = { ref: 'refs/heads/main', before: '0'.repeat(40), after, repository: { name: 'repo' } };
        const deliveryId = `${orgId}-push-${n}`;
        const rawBody = Buffer.from(JSON.stringify(payload));
        await store().deliveries.record({ orgId, deliveryId, sourceId: git.id, sourceKind: 'git', eventType: 'push', headers, body: rawBody }, new Date(T0));
        p.accepted({ orgId, deliveryId, sourceId: git.id, eventType: 'push', headers, rawBody, payload });
        await p.idle();
        expect(await store().deliveries.get(orgId, deliveryId)).toMatchObject({ status: 'processed' });
      }
    } finally {
      vi.restoreAllMocks();
    }
    expect(parsed.stats()).toMatchObject({ hits: 1, misses: 1 });
    expect(writes).toEqual(['replace', 'advance']);
    expect((await store().registrations.list(git.id)).map((r) => [r.workflowName, r.sha])).toEqual([['deploy', '2'.repeat(40)]]);
  });
});
