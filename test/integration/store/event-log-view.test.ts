/**
 * KiCI's `event_log` (migration 018), a view over the deliveries table: one row per (org_id,
 * delivery_id), kici's seven delivery statuses folded into KiCI's six (`filtered` → `processed`,
 * kici's own kept in `kici_status`), `source` always 'direct', the payload's size and SHA-256 as the
 * accept stored them. Deliveries are written through the store's repository (and a second delivery
 * of one push through the processing's own claim); the view is read with plain SQL, as an operator
 * sends it (a `pg` client on PostgreSQL, the store's connection on PGlite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimPush, duplicateOutcome, type Push } from '../../../src/deliveries/push-claims.js';
import { type NewDelivery, payloadHash } from '../../../src/store/index.js';
import { openOperatorDatabase, type OperatorDatabase } from '../../support/operator-sql.js';
import { DRIVERS, uniqueOrg } from '../../support/store-drivers.js';


const T0 = new Date('2026-03-01T12:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

function delivery(orgId: string, deliveryId: string, extra: Partial<NewDelivery> = {}): NewDelivery {
  return {
    orgId,
    deliveryId,
    sourceId: 'src_events',
    sourceKind: 'generic',
    eventType: 'deploy',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ delivery: deliveryId, padding: 'x'.repeat(deliveryId.length * 7) })),
    dedupKey: `src_events:${deliveryId}`,
    ...extra,
  };
}

/** kici's status → the status `event_log` shows. */
const MAPPING = [
  ['received', 'received'],
  ['processed', 'processed'],
  ['duplicate', 'duplicate'],
  ['filtered', 'processed'],
  ['lockfile_missing', 'lockfile_missing'],
  ['lockfile_corrupt', 'lockfile_corrupt'],
  ['failed', 'failed'],
] as const;

const COLUMNS = [
  'org_id',
  'delivery_id',
  'source_id',
  'source_kind',
  'event_type',
  'action',
  'status',
  'kici_status',
  'source',
  'matched_count',
  'payload_size',
  'payload_bytes',
  'payload_hash',
  'error',
  'trace',
  'received_at',
  'processed_at',
];

for (const driver of DRIVERS) {
  describe(`event_log view [${driver}]`, () => {
    let db: OperatorDatabase;
    beforeAll(async () => {
      db = await openOperatorDatabase(driver);
    });
    afterAll(async () => {
      await db?.close();
    });

    it('has KiCI\'s columns', async () => {
      const rows = await db.run(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'event_log' ORDER BY ordinal_position`);
      expect(rows.map((r) => r.column_name)).toEqual(COLUMNS);
    });

    it('shows one row per delivery, each of kici\'s statuses mapped to one of KiCI\'s six', async () => {
      const orgId = uniqueOrg();
      const inputs = new Map<string, NewDelivery>();
      for (const [i, [kici]] of MAPPING.entries()) {
        const input = delivery(orgId, `d-${kici}`, { action: kici === 'processed' ? 'opened' : null });
        inputs.set(kici, input);
        const recorded = await db.store.deliveries.record(input, at(i * 1000));
        expect(recorded.outcome).toBe('accepted');
        if (kici === 'received') continue;
        const completed = await db.store.deliveries.complete(
          orgId,
          input.deliveryId,
          { status: kici, matchedCount: kici === 'processed' ? 2 : 0, error: kici === 'failed' ? 'the source was removed' : undefined, trace: { summary: kici } },
          at(i * 1000 + 250),
          'received',
        );
        expect(completed).toBe(true);
      }

      const rows = await db.run(`SELECT * FROM event_log WHERE org_id = '${orgId}' ORDER BY received_at`);
      expect(rows).toHaveLength(MAPPING.length);
      expect(rows.map((r) => [r.kici_status, r.status])).toEqual(MAPPING.map(([kici, kiciStatus]) => [kici, kiciStatus]));
      const kiciSix = new Set(['received', 'processed', 'duplicate', 'lockfile_missing', 'lockfile_corrupt', 'failed']);
      for (const [i, row] of rows.entries()) {
        const kici = MAPPING[i]![0];
        const input = inputs.get(kici)!;
        expect(kiciSix.has(row.status as string)).toBe(true);
        expect(row).toMatchObject({
          org_id: orgId,
          delivery_id: input.deliveryId,
          source_id: 'src_events',
          source_kind: 'generic',
          event_type: 'deploy',
          action: kici === 'processed' ? 'opened' : null,
          source: 'direct',
          matched_count: kici === 'processed' ? 2 : 0,
          payload_size: input.body.byteLength,
          payload_bytes: input.body.byteLength,
          payload_hash: payloadHash(input.body),
          error: kici === 'failed' ? 'the source was removed' : null,
          trace: kici === 'received' ? null : { summary: kici },
        });
        expect(new Date(row.received_at as string)).toEqual(at(i * 1000));
        if (kici === 'received') expect(row.processed_at).toBeNull();
        else expect(new Date(row.processed_at as string)).toEqual(at(i * 1000 + 250));
      }
      // The hash is SHA-256 of the raw body, hex: checkable against the body the row keeps.
      const [checked] = await db.run(`SELECT e.payload_hash = encode(sha256(d.body), 'hex') AS same
        FROM event_log e JOIN deliveries d USING (org_id, delivery_id) WHERE e.org_id = '${orgId}' AND e.delivery_id = 'd-processed'`);
      expect(checked?.same).toBe(true);
    });

    it('a redelivery under the same id is answered from the first row and adds none', async () => {
      const orgId = uniqueOrg();
      const input = delivery(orgId, 'gh-redelivered');
      await db.store.deliveries.record(input, T0);
      await db.store.deliveries.complete(orgId, input.deliveryId, { status: 'processed', matchedCount: 1 }, at(100), 'received');
      const again = await db.store.deliveries.record({ ...input, body: Buffer.from('{"redelivered":true}') }, at(5000));
      expect(again).toMatchObject({ outcome: 'duplicate', first: { deliveryId: input.deliveryId, status: 'processed' } });
      const rows = await db.run(`SELECT delivery_id, status, payload_hash, received_at FROM event_log WHERE org_id = '${orgId}'`);
      expect(rows).toEqual([{ delivery_id: input.deliveryId, status: 'processed', payload_hash: payloadHash(input.body), received_at: expect.anything() }]);
      expect(new Date(rows[0]!.received_at as string)).toEqual(T0);
    });

    it('a second delivery of a push that already has its runs shows `duplicate`', async () => {
      const orgId = uniqueOrg();
      const sourceId = `src_${orgId}`;
      const deps = { store: db.store, clock: { now: () => T0.getTime() } };
      const first = delivery(orgId, `${sourceId}:refs/heads/main:${'a'.repeat(40)}`, { sourceId, sourceKind: 'git', eventType: 'push', dedupKey: undefined });
      const spooled = delivery(orgId, `reconcile:${sourceId}:refs/heads/main:${'a'.repeat(40)}`, { sourceId, sourceKind: 'git', eventType: 'push', dedupKey: undefined });
      const results = [];
      for (const [i, input] of [first, spooled].entries()) {
        await db.store.deliveries.record(input, at(i));
        const push: Push = { sourceId, ref: 'refs/heads/main', sha: 'a'.repeat(40), deliveryId: input.deliveryId };
        const owner = await claimPush(deps, push);
        const outcome = owner === input.deliveryId ? { status: 'processed' as const, matchedCount: 1 } : duplicateOutcome(push, owner);
        results.push(await db.store.deliveries.complete(orgId, input.deliveryId, outcome, at(i + 10), 'received'));
      }
      expect(results).toEqual([true, true]);
      const rows = await db.run(`SELECT delivery_id, status, kici_status, matched_count, trace FROM event_log WHERE org_id = '${orgId}' ORDER BY received_at`);
      expect(rows).toEqual([
        { delivery_id: first.deliveryId, status: 'processed', kici_status: 'processed', matched_count: 1, trace: null },
        { delivery_id: spooled.deliveryId, status: 'duplicate', kici_status: 'duplicate', matched_count: 0, trace: expect.objectContaining({ duplicateOf: first.deliveryId }) },
      ]);
      // The seed-style count by outcome.
      const counts = await db.run(`SELECT status, COUNT(*)::int AS n FROM event_log WHERE org_id = '${orgId}' GROUP BY status ORDER BY status`);
      expect(counts).toEqual([
        { status: 'duplicate', n: 1 },
        { status: 'processed', n: 1 },
      ]);
    });

    it('follows the delivery: kept for a retry it stays `received` with its reason', async () => {
      const orgId = uniqueOrg();
      const input = delivery(orgId, 'gh-waiting', { sourceKind: 'github', eventType: 'push' });
      await db.store.deliveries.record(input, T0);
      expect(await db.store.deliveries.keepForRetry(orgId, input.deliveryId, 'GitHub answered 502')).toBe(true);
      expect(await db.run(`SELECT status, error, processed_at FROM event_log WHERE org_id = '${orgId}'`)).toEqual([
        { status: 'received', error: 'GitHub answered 502', processed_at: null },
      ]);
      await db.store.deliveries.complete(orgId, input.deliveryId, { status: 'lockfile_missing', matchedCount: 0, error: null }, at(60_000), 'received');
      expect(await db.run(`SELECT status, error FROM event_log WHERE org_id = '${orgId}'`)).toEqual([{ status: 'lockfile_missing', error: null }]);
    });
  });
}
