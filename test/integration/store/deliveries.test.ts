import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { shardOf } from '../../../src/actors/index.js';
import { type DeliveryRepository, deliveryShard, type NewDelivery, payloadHash, type RecordDeliveryResult, type Store } from '../../../src/store/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const HOUR = 3600_000;

function delivery(orgId: string, deliveryId: string, extra: Partial<NewDelivery> = {}): NewDelivery {
  return {
    orgId,
    deliveryId,
    sourceId: 'src_test',
    sourceKind: 'generic',
    eventType: 'deploy',
    headers: { 'content-type': 'application/json', 'x-delivery-id': deliveryId },
    body: Buffer.from(JSON.stringify({ id: deliveryId, bytes: [0, 1, 2] })),
    dedupKey: `${orgId}:src_test:${deliveryId}`,
    ...extra,
  };
}

/** `count` delivery ids whose shards all differ. */
function idsInDistinctShards(prefix: string, count: number): string[] {
  const ids: string[] = [];
  const shards = new Set<number>();
  for (let i = 0; ids.length < count; i++) {
    const id = `${prefix}-d${i}`;
    if (shards.has(deliveryShard(id))) continue;
    shards.add(deliveryShard(id));
    ids.push(id);
  }
  return ids;
}

describeOnBothDrivers('deliveries', (store) => {
  it('records a delivery with its raw body, hash and size', async () => {
    const orgId = uniqueOrg();
    const input = delivery(orgId, 'd1', { body: Buffer.from([0xff, 0x00, 0x7b, 0x7d]) });
    const result = await store().deliveries.record(input, T0);
    expect(result.outcome).toBe('accepted');
    if (result.outcome !== 'accepted') return;
    expect(result.delivery).toMatchObject({
      orgId,
      deliveryId: 'd1',
      status: 'received',
      payloadSize: 4,
      payloadHash: payloadHash(input.body),
      matchedCount: 0,
      receivedAt: T0,
      processedAt: null,
    });
    const stored = await store().deliveries.getWithBody(orgId, 'd1');
    expect(Buffer.isBuffer(stored?.body)).toBe(true);
    expect(stored?.body.equals(Buffer.from([0xff, 0x00, 0x7b, 0x7d]))).toBe(true);
    expect(stored?.headers).toEqual(input.headers);
  });

  it('answers a repeated dedup key with the first delivery and its outcome', async () => {
    const orgId = uniqueOrg();
    await store().deliveries.record(delivery(orgId, 'd1'), T0);
    await store().deliveries.complete(orgId, 'd1', { status: 'processed', matchedCount: 2, trace: [{ workflow: 'ci', matched: true }] }, at(1));
    const again = await store().deliveries.record(delivery(orgId, 'd1'), at(2));
    expect(again.outcome).toBe('duplicate');
    if (again.outcome !== 'duplicate') return;
    expect(again.first).toMatchObject({ deliveryId: 'd1', status: 'processed', matchedCount: 2 });
    expect(again.first.trace).toEqual([{ workflow: 'ci', matched: true }]);
  });

  it('finds the delivery behind a live dedup key only', async () => {
    const orgId = uniqueOrg();
    const input = delivery(orgId, 'seen', { dedupTtlMs: HOUR });
    expect(await store().deliveries.findByDedupKey(input.dedupKey!, T0)).toBeNull();
    await store().deliveries.record(input, T0);
    expect((await store().deliveries.findByDedupKey(input.dedupKey!, at(HOUR - 1)))?.deliveryId).toBe('seen');
    expect(await store().deliveries.findByDedupKey(input.dedupKey!, at(HOUR))).toBeNull();
  });

  it('dedups concurrent deliveries of the same key: exactly one is accepted', async () => {
    const orgId = uniqueOrg();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => store().deliveries.record(delivery(orgId, 'same'), T0)),
    );
    expect(results.filter((r) => r.outcome === 'accepted')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(4);
  });

  it('keys dedup per source: the same sender id from two sources is two deliveries', async () => {
    const orgId = uniqueOrg();
    const a = await store().deliveries.record(delivery(orgId, 'src_a:42', { dedupKey: 'src_a:42' }), T0);
    const b = await store().deliveries.record(delivery(orgId, 'src_b:42', { dedupKey: 'src_b:42' }), T0);
    expect([a.outcome, b.outcome]).toEqual(['accepted', 'accepted']);
  });

  it('lets a dedup key expire after its TTL, and sweeps expired keys', async () => {
    const orgId = uniqueOrg();
    const key = `k-${orgId}`;
    await store().deliveries.record(delivery(orgId, 'first', { dedupKey: key, dedupTtlMs: HOUR }), T0);
    const within = await store().deliveries.record(delivery(orgId, 'second', { dedupKey: key, dedupTtlMs: HOUR }), at(HOUR - 1));
    expect(within.outcome).toBe('duplicate');
    const after = await store().deliveries.record(delivery(orgId, 'third', { dedupKey: key, dedupTtlMs: HOUR }), at(HOUR));
    expect(after.outcome).toBe('accepted');
    // The key now belongs to 'third' for another hour.
    const dup = await store().deliveries.record(delivery(orgId, 'fourth', { dedupKey: key, dedupTtlMs: HOUR }), at(HOUR + 10));
    expect(dup.outcome === 'duplicate' && dup.first.deliveryId).toBe('third');
    expect(await store().deliveries.sweepDedupKeys(at(3 * HOUR))).toBeGreaterThanOrEqual(1);
    const fresh = await store().deliveries.record(delivery(orgId, 'fifth', { dedupKey: key }), at(3 * HOUR));
    expect(fresh.outcome).toBe('accepted');
  });

  it('without a dedup key, a repeated delivery id is still never stored twice', async () => {
    const orgId = uniqueOrg();
    const first = await store().deliveries.record(delivery(orgId, 'nokey', { dedupKey: undefined }), T0);
    const second = await store().deliveries.record(delivery(orgId, 'nokey', { dedupKey: undefined }), at(1));
    expect(first.outcome).toBe('accepted');
    expect(second.outcome).toBe('duplicate');
  });

  it('completes a delivery without touching its payload, guarded by the expected status', async () => {
    const orgId = uniqueOrg();
    await store().deliveries.record(delivery(orgId, 'd1'), T0);
    const before = await store().deliveries.getWithBody(orgId, 'd1');
    expect(
      await store().deliveries.complete(orgId, 'd1', { status: 'lockfile_missing', action: 'opened' }, at(5), 'received'),
    ).toBe(true);
    expect(await store().deliveries.complete(orgId, 'd1', { status: 'processed' }, at(6), 'received')).toBe(false);
    const after = await store().deliveries.getWithBody(orgId, 'd1');
    expect(after).toMatchObject({ status: 'lockfile_missing', action: 'opened', processedAt: at(5) });
    expect(after?.body.equals(before!.body)).toBe(true);
    expect(after?.payloadHash).toBe(before?.payloadHash);
    expect(await store().deliveries.complete(orgId, 'missing', { status: 'failed', error: 'x' }, at(7))).toBe(false);
  });

  it('hands back received deliveries, oldest first, with bodies, for resuming', async () => {
    const orgId = uniqueOrg();
    await store().deliveries.record(delivery(orgId, 'late'), at(20));
    await store().deliveries.record(delivery(orgId, 'early'), at(10));
    await store().deliveries.record(delivery(orgId, 'done'), at(5));
    await store().deliveries.complete(orgId, 'done', { status: 'filtered' }, at(6));
    const resumable = (await store().deliveries.listReceived({ limit: 1000 })).filter((d) => d.orgId === orgId);
    expect(resumable.map((d) => d.deliveryId)).toEqual(['early', 'late']);
    expect(JSON.parse(resumable[0]!.body.toString())).toMatchObject({ id: 'early' });
  });

  it('records each delivery\'s shard: the actors\' hash of its id', async () => {
    const orgId = uniqueOrg();
    const result = await store().deliveries.record(delivery(orgId, 'sharded'), T0);
    expect(result.outcome === 'accepted' && result.delivery.shard).toBe(deliveryShard('sharded'));
    expect(deliveryShard('sharded')).toBe(shardOf('sharded'));
    expect((await store().deliveries.get(orgId, 'sharded'))?.shard).toBe(shardOf('sharded'));
  });

  it('hands the owner of some shards only their received deliveries, and only those left behind when asked', async () => {
    const orgId = uniqueOrg();
    // Ids in three different shards: a and b are "ours", c another node's.
    const [a, b, c] = idsInDistinctShards(orgId, 3);
    await store().deliveries.record(delivery(orgId, a), at(10));
    await store().deliveries.record(delivery(orgId, b), at(20));
    await store().deliveries.record(delivery(orgId, c), at(5));
    const ours = [deliveryShard(a), deliveryShard(b)];
    const mine = async (filter: Parameters<DeliveryRepository['listReceived']>[0]) =>
      (await store().deliveries.listReceived({ limit: 1000, ...filter })).filter((d) => d.orgId === orgId).map((d) => d.deliveryId);
    expect(await mine({ shards: ours })).toEqual([a, b]);
    expect(await mine({ shards: [deliveryShard(c)] })).toEqual([c]);
    expect(await mine({ shards: [] })).toEqual([]);
    expect(await mine({})).toEqual([c, a, b]);
    // Left behind: received strictly before the instant.
    expect(await mine({ shards: ours, receivedBefore: at(20) })).toEqual([a]);
    expect(await mine({ shards: ours, receivedBefore: at(10) })).toEqual([]);
    // Processed ones are no longer resumable, whatever their shard.
    await store().deliveries.complete(orgId, a, { status: 'processed' }, at(30), 'received');
    expect(await mine({ shards: ours })).toEqual([b]);
  });

  it('lists an org\'s deliveries newest first with filters, and counts them by status', async () => {
    const orgId = uniqueOrg();
    for (let i = 0; i < 4; i++) await store().deliveries.record(delivery(orgId, `d${i}`), at(i * 1000));
    await store().deliveries.complete(orgId, 'd1', { status: 'failed', error: 'boom' }, at(1500));
    expect((await store().deliveries.list({ orgId })).map((d) => d.deliveryId)).toEqual(['d3', 'd2', 'd1', 'd0']);
    expect((await store().deliveries.list({ orgId, status: 'failed' })).map((d) => d.error)).toEqual(['boom']);
    expect((await store().deliveries.list({ orgId, before: at(2000), limit: 1 })).map((d) => d.deliveryId)).toEqual(['d1']);
    expect(await store().deliveries.list({ orgId: uniqueOrg() })).toEqual([]);
    expect(await store().deliveries.countByStatus(orgId)).toEqual({ received: 3, failed: 1 });
    expect(await store().deliveries.get(orgId, 'nope')).toBeNull();
  });
});

/** Statements and round trips `work` sent, with only the kinds that moved. */
async function counted(store: Store, work: () => Promise<unknown>): Promise<{ statements: number; roundTrips: number; byKind: Record<string, number> }> {
  const before = store.statements();
  await work();
  const after = store.statements();
  const byKind: Record<string, number> = {};
  for (const [kind, n] of Object.entries(after.byKind)) {
    const d = n - before.byKind[kind as keyof typeof before.byKind];
    if (d !== 0) byKind[kind] = d;
  }
  return { statements: after.statements - before.statements, roundTrips: after.roundTrips - before.roundTrips, byKind };
}

const ONE_STATEMENT = { statements: 1, roundTrips: 1, byKind: { with: 1 } };

function firstOf(result: RecordDeliveryResult): string | undefined {
  return result.outcome === 'duplicate' ? result.first.deliveryId : undefined;
}

describeOnBothDrivers('deliveries: the accept in one statement', (store, driver) => {
  it('accepts, and answers each kind of duplicate, in one round trip each', async () => {
    const orgId = uniqueOrg();
    const key = `k-${orgId}`;
    let result: RecordDeliveryResult | undefined;
    const record = (input: NewDelivery, now: Date) => async () => {
      result = await store().deliveries.record(input, now);
    };
    // New delivery.
    expect(await counted(store(), record(delivery(orgId, 'first', { dedupKey: key, dedupTtlMs: HOUR }), T0))).toEqual(ONE_STATEMENT);
    expect(result?.outcome).toBe('accepted');
    // Duplicate by a live dedup key (another delivery id): the first delivery answers.
    expect(await counted(store(), record(delivery(orgId, 'second', { dedupKey: key, dedupTtlMs: HOUR }), at(1)))).toEqual(ONE_STATEMENT);
    expect(firstOf(result!)).toBe('first');
    // Expired key taken over by a new delivery.
    expect(await counted(store(), record(delivery(orgId, 'third', { dedupKey: key, dedupTtlMs: HOUR }), at(HOUR)))).toEqual(ONE_STATEMENT);
    expect(result?.outcome).toBe('accepted');
    // Expired key, same delivery id as a stored one: the key is claimed, the id conflicts.
    expect(await counted(store(), record(delivery(orgId, 'first', { dedupKey: key, dedupTtlMs: HOUR }), at(3 * HOUR)))).toEqual(ONE_STATEMENT);
    expect(firstOf(result!)).toBe('first');
    // Without a key: new, then duplicate by (org, delivery id).
    expect(await counted(store(), record(delivery(orgId, 'nokey', { dedupKey: undefined }), T0))).toEqual(ONE_STATEMENT);
    expect(result?.outcome).toBe('accepted');
    expect(await counted(store(), record(delivery(orgId, 'nokey', { dedupKey: undefined }), at(1)))).toEqual(ONE_STATEMENT);
    expect(firstOf(result!)).toBe('nokey');
  });

  it('accepts that arrive together leave together, each answered as it would be alone', async () => {
    const orgId = uniqueOrg();
    const now = at(2 * HOUR);
    await store().deliveries.record(delivery(orgId, 'live', { dedupKey: `live-${orgId}` }), T0);
    await store().deliveries.record(delivery(orgId, 'old', { dedupKey: `old-${orgId}`, dedupTtlMs: HOUR }), T0);
    await store().deliveries.record(delivery(orgId, 'nokey', { dedupKey: undefined }), T0);
    const together = [
      delivery(orgId, 'new-keyed', { dedupKey: `new-${orgId}` }),
      delivery(orgId, 'new-unkeyed', { dedupKey: undefined, body: Buffer.from([0xff, 0x00, 0x10]) }),
      delivery(orgId, 'again', { dedupKey: `live-${orgId}` }),
      delivery(orgId, 'taken-over', { dedupKey: `old-${orgId}`, dedupTtlMs: HOUR }),
      delivery(orgId, 'nokey', { dedupKey: undefined }),
    ];
    let results: RecordDeliveryResult[] = [];
    const sent = await counted(store(), async () => {
      results = await Promise.all(together.map((d) => store().deliveries.record(d, now)));
    });
    // On PostgreSQL the first finds nothing out and leaves at once, alone, and the four behind it
    // leave in one statement; on PGlite all five wait for the round's end and leave together.
    const statements = driver === 'postgres' ? 2 : 1;
    expect(sent).toEqual({ statements, roundTrips: statements, byKind: { with: statements } });
    expect(results.map((r) => (r.outcome === 'accepted' ? `accepted ${r.delivery.deliveryId}` : `duplicate of ${r.first.deliveryId}`))).toEqual([
      'accepted new-keyed',
      'accepted new-unkeyed',
      'duplicate of live',
      'accepted taken-over',
      'duplicate of nokey',
    ]);
    // Each accepted answer is the stored row, raw body and all, received at its own time.
    for (const [i, r] of results.entries()) {
      if (r.outcome !== 'accepted') continue;
      expect(await store().deliveries.get(orgId, r.delivery.deliveryId)).toEqual(r.delivery);
      expect(r.delivery).toMatchObject({ receivedAt: now, payloadHash: payloadHash(together[i]!.body), shard: deliveryShard(r.delivery.deliveryId) });
      expect((await store().deliveries.getWithBody(orgId, r.delivery.deliveryId))?.body.equals(Buffer.from(together[i]!.body))).toBe(true);
    }
    expect((await store().deliveries.findByDedupKey(`old-${orgId}`, now))?.deliveryId).toBe('taken-over');
    expect(await store().deliveries.get(orgId, 'again')).toBeNull();
  });

  it('a large body is accepted alone, beside the batch of the others', async () => {
    const orgId = uniqueOrg();
    const large = delivery(orgId, 'large', { body: Buffer.alloc(100 * 1024, 0x61) });
    let results: RecordDeliveryResult[] = [];
    const sent = await counted(store(), async () => {
      results = await Promise.all([large, delivery(orgId, 's1'), delivery(orgId, 's2'), delivery(orgId, 's3')].map((d) => store().deliveries.record(d, T0)));
    });
    // The large one alone; the small ones together (on PostgreSQL the first of them leaves at once, alone).
    expect(sent.byKind).toEqual({ with: driver === 'postgres' ? 3 : 2 });
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    expect((await store().deliveries.getWithBody(orgId, 'large'))?.body.equals(large.body as Buffer)).toBe(true);
  });

  it('keeps the outcome of every path: the first delivery\'s full record, and where the key points after', async () => {
    const orgId = uniqueOrg();
    const key = `k-${orgId}`;
    const input = delivery(orgId, 'a', { dedupKey: key, dedupTtlMs: HOUR, action: 'opened' });
    const accepted = await store().deliveries.record(input, T0);
    if (accepted.outcome !== 'accepted') throw new Error('not accepted');
    expect(accepted.delivery).toEqual({
      orgId,
      deliveryId: 'a',
      shard: deliveryShard('a'),
      sourceId: 'src_test',
      sourceKind: 'generic',
      eventType: 'deploy',
      action: 'opened',
      status: 'received',
      headers: input.headers,
      payloadHash: payloadHash(input.body),
      payloadSize: input.body.byteLength,
      matchedCount: 0,
      error: null,
      trace: null,
      receivedAt: T0,
      processedAt: null,
      attempts: 0,
      retryAfter: null,
    });
    expect(await store().deliveries.get(orgId, 'a')).toEqual(accepted.delivery);
    await store().deliveries.complete(orgId, 'a', { status: 'failed', error: 'boom', trace: { why: 1 } }, at(5));
    const stored = await store().deliveries.get(orgId, 'a');
    // By live key: the first delivery as it stands now.
    const byKey = await store().deliveries.record(delivery(orgId, 'b', { dedupKey: key, dedupTtlMs: HOUR }), at(10));
    expect(byKey).toEqual({ outcome: 'duplicate', first: stored });
    expect(await store().deliveries.get(orgId, 'b')).toBeNull();
    // Expired key with the same delivery id: a duplicate of the stored row, and the key is renewed for it.
    const byId = await store().deliveries.record(delivery(orgId, 'a', { dedupKey: key, dedupTtlMs: HOUR }), at(2 * HOUR));
    expect(byId).toEqual({ outcome: 'duplicate', first: stored });
    expect((await store().deliveries.findByDedupKey(key, at(3 * HOUR - 1)))?.deliveryId).toBe('a');
    expect(await store().deliveries.findByDedupKey(key, at(3 * HOUR))).toBeNull();
  });

  it('a live key whose delivery is gone lets the delivery in without taking the key', async () => {
    const orgId = uniqueOrg();
    const key = `k-${orgId}`;
    await queryBuilderOf(store())
      .insertInto('dedup_keys')
      .values({ key, org_id: orgId, delivery_id: 'gone', expires_at: at(HOUR) })
      .execute();
    const result = await store().deliveries.record(delivery(orgId, 'new', { dedupKey: key }), T0);
    expect(result.outcome).toBe('accepted');
    const row = await queryBuilderOf(store()).selectFrom('dedup_keys').select(['delivery_id', 'expires_at']).where('key', '=', key).executeTakeFirstOrThrow();
    expect(row).toEqual({ delivery_id: 'gone', expires_at: at(HOUR) });
    // And the same again is a duplicate by (org, delivery id).
    expect(firstOf(await store().deliveries.record(delivery(orgId, 'new', { dedupKey: key }), at(1)))).toBe('new');
  });

  it('identical deliveries fired at once: exactly one accepted, every other a duplicate of it', async () => {
    for (const dedupKey of ['keyed', undefined]) {
      const orgId = uniqueOrg();
      const input = delivery(orgId, 'same', dedupKey === undefined ? { dedupKey: undefined } : {});
      const results = await Promise.all(Array.from({ length: 12 }, () => store().deliveries.record(input, T0)));
      const accepted = results.filter((r) => r.outcome === 'accepted');
      expect(accepted).toHaveLength(1);
      const stored = await store().deliveries.get(orgId, 'same');
      expect(accepted[0]).toEqual({ outcome: 'accepted', delivery: stored });
      const duplicates = results.filter((r) => r.outcome === 'duplicate');
      expect(duplicates).toHaveLength(11);
      for (const d of duplicates) expect(d).toEqual({ outcome: 'duplicate', first: stored });
    }
  });

  it('one dedup key, different delivery ids, fired at once: one accepted, the others point at it', async () => {
    const orgId = uniqueOrg();
    const key = `k-${orgId}`;
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store().deliveries.record(delivery(orgId, `d${i}`, { dedupKey: key }), T0)));
    const accepted = results.filter((r) => r.outcome === 'accepted');
    expect(accepted).toHaveLength(1);
    const winner = accepted[0]!.outcome === 'accepted' ? accepted[0]!.delivery : undefined;
    for (const r of results) if (r.outcome === 'duplicate') expect(r.first).toEqual(winner);
    expect((await store().deliveries.list({ orgId })).map((d) => d.deliveryId)).toEqual([winner?.deliveryId]);
  });

  it('an expired key taken over at once by several: one accepted, the others point at it', async () => {
    const orgId = uniqueOrg();
    const key = `k-${orgId}`;
    await store().deliveries.record(delivery(orgId, 'old', { dedupKey: key, dedupTtlMs: HOUR }), T0);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => store().deliveries.record(delivery(orgId, `n${i}`, { dedupKey: key, dedupTtlMs: HOUR }), at(2 * HOUR))),
    );
    const accepted = results.filter((r) => r.outcome === 'accepted');
    expect(accepted).toHaveLength(1);
    const winner = accepted[0]!.outcome === 'accepted' ? accepted[0]!.delivery : undefined;
    for (const r of results) if (r.outcome === 'duplicate') expect(r.first).toEqual(winner);
    expect((await store().deliveries.findByDedupKey(key, at(2 * HOUR)))?.deliveryId).toBe(winner?.deliveryId);
  });

  // PostgreSQL only (PGlite runs one statement at a time): an accept whose snapshot predates a
  // concurrent accept's commit, which the unique indexes make it wait for.
  it.runIf(driver === 'postgres')('settles an accept that waited on a concurrent commit as the transaction did', async () => {
    const db = queryBuilderOf(store());
    const waitingOnLock = async () => {
      for (let i = 0; i < 200; i++) {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
        if (rows[0]!.n > 0) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the accept never waited');
    };
    /** Hold `hold`'s rows uncommitted while `accept` starts and waits on them; then commit. */
    const race = async (hold: (trx: typeof db) => Promise<unknown>, accept: () => Promise<RecordDeliveryResult>) => {
      let pending: Promise<RecordDeliveryResult> | undefined;
      await db.transaction().execute(async (trx) => {
        await hold(trx);
        pending = accept();
        await waitingOnLock();
      });
      return pending!;
    };
    const orgId = uniqueOrg();
    const key = `k-${orgId}`;
    const base = delivery(orgId, 'held', { dedupKey: key });
    const insertHeld = (trx: typeof db, deliveryId: string, withKey: string | null) => async () => {
      if (withKey !== null) await trx.insertInto('dedup_keys').values({ key: withKey, org_id: orgId, delivery_id: deliveryId, expires_at: at(HOUR) }).execute();
      await trx
        .insertInto('deliveries')
        .values({
          org_id: orgId,
          delivery_id: deliveryId,
          source_id: 'src_test',
          source_kind: 'generic',
          event_type: 'deploy',
          status: 'received',
          shard: deliveryShard(deliveryId),
          body: base.body,
          payload_hash: payloadHash(base.body),
          payload_size: base.body.byteLength,
          received_at: T0,
        })
        .execute();
    };
    // Same key, other delivery id: the key's delivery answers (not a second acceptance).
    const other = await race((trx) => insertHeld(trx, 'held', key)(), () => store().deliveries.record(delivery(orgId, 'late', { dedupKey: key }), at(1)));
    expect(firstOf(other)).toBe('held');
    expect(await store().deliveries.get(orgId, 'late')).toBeNull();
    // The identical delivery (same key, same id): the one committed meanwhile answers.
    const same = await race((trx) => insertHeld(trx, 'twin', `${key}-twin`)(), () => store().deliveries.record(delivery(orgId, 'twin', { dedupKey: `${key}-twin` }), at(1)));
    expect(same).toEqual({ outcome: 'duplicate', first: await store().deliveries.get(orgId, 'twin') });
    // Same delivery id, no key: the row committed meanwhile answers.
    const byId = await race((trx) => insertHeld(trx, 'nokey', null)(), () => store().deliveries.record(delivery(orgId, 'nokey', { dedupKey: undefined }), at(1)));
    expect(byId).toEqual({ outcome: 'duplicate', first: await store().deliveries.get(orgId, 'nokey') });
  });
});
