/**
 * The event log (`deliveries`) and webhook dedup.
 *
 * `record` is the commit-then-202 step: the dedup key and the delivery row (raw body
 * included) commit in one statement (one round trip) before the route answers, so an accepted
 * delivery is never lost and never accepted twice. Processing later moves the row out of
 * `received`. Every row carries its shard (`deliveryShard`): rows still `received` after a crash
 * are what `listReceived` hands the owner of their shard (at start, when it gains the shard, and
 * in its sweep).
 */
import { heldBy, type CoordinatorClaim } from './coordinator-term.js';
import { createHash } from 'node:crypto';
import { type Selectable, sql } from 'kysely';
import { shardOf } from '../actors/index.js';
import type { DatabaseDriver, Db } from './database.js';
import type { DeliveriesTable, DeliveryStatus, SourceKind } from './schema.js';
import { DeliveryAccepts } from './delivery-accepts.js';
import { jsonb, toBuffer } from './sql-values.js';

export const DEDUP_TTL_MS = 24 * 60 * 60 * 1000;

export interface DeliveryRecord {
  orgId: string;
  deliveryId: string;
  /** Whose owner resumes the delivery while it is `received` (`deliveryShard(deliveryId)`). */
  shard: number;
  sourceId: string;
  sourceKind: SourceKind;
  eventType: string;
  action: string | null;
  status: DeliveryStatus;
  headers: Record<string, string>;
  payloadHash: string;
  payloadSize: number;
  matchedCount: number;
  error: string | null;
  trace: unknown;
  receivedAt: Date;
  processedAt: Date | null;
  /** Tries that ended "not yet" (GitHub unreachable, a rate limit); 0 for most. */
  attempts: number;
  /** While `received` after such a try: not resumed before this. */
  retryAfter: Date | null;
  /** When retention dropped the raw body (migration 020); present only once it has. */
  payloadRemovedAt?: Date;
}

/** A delivery by its key (ids are unique per organisation). */
export interface DeliveryKey {
  orgId: string;
  deliveryId: string;
}

export interface DeliveryWithBody extends DeliveryRecord {
  body: Buffer;
}

export interface NewDelivery {
  orgId: string;
  deliveryId: string;
  sourceId: string;
  sourceKind: SourceKind;
  eventType: string;
  action?: string | null;
  /** Already stripped of sensitive headers by the caller. */
  headers: Record<string, string>;
  body: Uint8Array;
  /**
   * Source-scoped idempotency key (e.g. `<sourceId>:<X-Delivery-Id>`); absent when the sender gave
   * no delivery id, in which case the delivery gets a fresh id and is never deduplicated.
   */
  dedupKey?: string;
  dedupTtlMs?: number;
}

export type RecordDeliveryResult =
  | { outcome: 'accepted'; delivery: DeliveryRecord }
  | { outcome: 'duplicate'; first: DeliveryRecord };

export interface DeliveryOutcome {
  status: Exclude<DeliveryStatus, 'received'>;
  matchedCount?: number;
  trace?: unknown;
  error?: string | null;
  eventType?: string;
  action?: string | null;
}

export const SUMMARY_COLUMNS = [
  'org_id',
  'delivery_id',
  'shard',
  'source_id',
  'source_kind',
  'event_type',
  'action',
  'status',
  'headers',
  'payload_hash',
  'payload_size',
  'matched_count',
  'error',
  'trace',
  'received_at',
  'processed_at',
  'attempts',
  'retry_after',
  'payload_removed_at',
] as const;

export type SummaryRow = Pick<Selectable<DeliveriesTable>, (typeof SUMMARY_COLUMNS)[number]>;

function toRecord(row: SummaryRow): DeliveryRecord {
  return {
    orgId: row.org_id,
    deliveryId: row.delivery_id,
    shard: row.shard,
    sourceId: row.source_id,
    sourceKind: row.source_kind,
    eventType: row.event_type,
    action: row.action,
    status: row.status,
    headers: row.headers ?? {},
    payloadHash: row.payload_hash,
    payloadSize: row.payload_size,
    matchedCount: row.matched_count,
    error: row.error,
    trace: row.trace ?? null,
    receivedAt: row.received_at,
    processedAt: row.processed_at,
    attempts: row.attempts,
    retryAfter: row.retry_after,
    ...(row.payload_removed_at != null && { payloadRemovedAt: row.payload_removed_at }),
  };
}

function toRecordWithBody(row: Selectable<DeliveriesTable>): DeliveryWithBody {
  return { ...toRecord(row), body: toBuffer(row.body) };
}

export function payloadHash(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * The shard a delivery belongs to: the actors' hash of its id, as a run's is of the run's id. Its
 * owner is who resumes the delivery when the node that accepted it does not finish it.
 */
export function deliveryShard(deliveryId: string): number {
  return shardOf(deliveryId);
}

export interface ReceivedFilter {
  /** Only deliveries of these shards (what a node owns or has just gained); absent: every shard. */
  shards?: number[];
  /** Only deliveries received strictly before this instant (left behind, not merely in progress). */
  receivedBefore?: Date;
  /** Only deliveries due by then: never tried again, or whose `retryAfter` has come. */
  dueBy?: Date;
  limit?: number;
}

export interface DeliveryFilter {
  /** Absent: every organisation (an operator's view of one node). */
  orgId?: string;
  status?: DeliveryStatus;
  sourceId?: string;
  /** Only deliveries received strictly before this instant (paging backwards). */
  before?: Date;
  limit?: number;
}

export class DeliveryRepository {
  private readonly accepts: DeliveryAccepts;

  constructor(
    private readonly db: Db,
    driver?: DatabaseDriver,
  ) {
    this.accepts = new DeliveryAccepts(db, driver);
  }

  /**
   * Commit-then-202: the dedup key and the delivery row in one statement (`DeliveryAccepts`, which
   * sends the accepts that arrive together as one), one round trip. Only a race the statement's
   * snapshot cannot see (a key or a delivery committed by a concurrent accept after the statement
   * began), or a live key whose delivery is gone, is settled by the reads below, as the
   * transaction this replaces settled them.
   */
  async record(input: NewDelivery, now: Date): Promise<RecordDeliveryResult> {
    const row = await this.accepts.accept(input, now);
    if (row?.outcome === 'accepted') return { outcome: 'accepted', delivery: toRecord(row) };
    if (row?.outcome === 'duplicate') return { outcome: 'duplicate', first: toRecord(row) };
    if (input.dedupKey !== undefined && row?.claimed === false) {
      // A live key this statement did not see (claimed concurrently), or one whose delivery is
      // gone: its delivery answers, or, with none, the delivery goes in without the key.
      const first = await firstDeliveryForKey(this.db, input.dedupKey);
      if (first) return { outcome: 'duplicate', first };
      return this.record({ ...input, dedupKey: undefined }, now);
    }
    // The delivery id conflicted with a row committed after the statement's snapshot.
    const first = await readDelivery(this.db, input.orgId, input.deliveryId);
    if (!first) throw new Error(`delivery ${input.deliveryId} conflicted but cannot be read`);
    return { outcome: 'duplicate', first };
  }

  /**
   * The delivery a live dedup key points at (the "seen before?" check ahead of the commit). The
   * commit itself re-checks in its own statement, so a race between two identical requests still
   * ends with exactly one accepted.
   */
  findByDedupKey(key: string, now: Date): Promise<DeliveryRecord | null> {
    return firstDeliveryForKey(this.db, key, now);
  }

  get(orgId: string, deliveryId: string): Promise<DeliveryRecord | null> {
    return readDelivery(this.db, orgId, deliveryId);
  }

  async getWithBody(orgId: string, deliveryId: string): Promise<DeliveryWithBody | null> {
    const row = await this.db
      .selectFrom('deliveries')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('delivery_id', '=', deliveryId)
      .executeTakeFirst();
    return row ? toRecordWithBody(row) : null;
  }

  /**
   * Record how processing ended. Payload fields are never touched. With `expectedStatus`, the
   * update applies only from that status (false otherwise), so two processors cannot both finish it.
   */
  async complete(
    orgId: string,
    deliveryId: string,
    outcome: DeliveryOutcome,
    now: Date,
    expectedStatus?: DeliveryStatus,
  ): Promise<boolean> {
    const result = await outcomeUpdate(this.db, orgId, deliveryId, outcome, now, expectedStatus).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * A delivery that could not be processed yet and will be tried again: it stays `received` (so a
   * sweep resumes it once `retryAfter` has come) with `reason` as its error, which the event log
   * shows, and one more attempt counted. False when it has left `received` meanwhile.
   */
  async keepForRetry(orgId: string, deliveryId: string, reason: string, retryAfter: Date | null = null): Promise<boolean> {
    const result = await this.db
      .updateTable('deliveries')
      .set((eb) => ({ error: reason, retry_after: retryAfter, attempts: eb('attempts', '+', 1) }))
      .where('org_id', '=', orgId)
      .where('delivery_id', '=', deliveryId)
      .where('status', '=', 'received')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Deliveries still `received`, oldest first, bodies included: what the owner of their shards
   * resumes (at start, on a gain, and what its sweep finds left behind).
   */
  async listReceived(filter: ReceivedFilter = {}): Promise<DeliveryWithBody[]> {
    if (filter.shards !== undefined && filter.shards.length === 0) return [];
    let query = this.db.selectFrom('deliveries').selectAll().where('status', '=', 'received');
    if (filter.shards !== undefined) query = query.where('shard', 'in', filter.shards);
    if (filter.receivedBefore !== undefined) query = query.where('received_at', '<', filter.receivedBefore);
    const dueBy = filter.dueBy;
    if (dueBy !== undefined) query = query.where((eb) => eb.or([eb('retry_after', 'is', null), eb('retry_after', '<=', dueBy)]));
    const rows = await query
      .orderBy('received_at')
      .orderBy('delivery_id')
      .limit(filter.limit ?? 100)
      .execute();
    return rows.map(toRecordWithBody);
  }

  /** Newest first, without bodies. */
  async list(filter: DeliveryFilter): Promise<DeliveryRecord[]> {
    let query = this.db.selectFrom('deliveries').select(SUMMARY_COLUMNS);
    if (filter.orgId !== undefined) query = query.where('org_id', '=', filter.orgId);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.sourceId !== undefined) query = query.where('source_id', '=', filter.sourceId);
    if (filter.before !== undefined) query = query.where('received_at', '<', filter.before);
    const rows = await query
      .orderBy('received_at', 'desc')
      .orderBy('delivery_id', 'desc')
      .limit(filter.limit ?? 100)
      .execute();
    return rows.map(toRecord);
  }

  /** Every delivery with this id, whatever its organisation (ids are unique per org only). */
  async listById(deliveryId: string): Promise<DeliveryRecord[]> {
    const rows = await this.db.selectFrom('deliveries').select(SUMMARY_COLUMNS).where('delivery_id', '=', deliveryId).orderBy('org_id').execute();
    return rows.map(toRecord);
  }

  /**
   * Retention: deliveries received before `before` whose raw body is still kept, oldest first, at
   * most `limit`. A delivery still `received` is never among them: its body is what processing reads.
   */
  async withExpiredPayloads(before: Date, limit: number): Promise<DeliveryKey[]> {
    const rows = await this.db
      .selectFrom('deliveries')
      .select(['org_id', 'delivery_id'])
      .where('received_at', '<', before)
      .where('status', '<>', 'received')
      .where('payload_removed_at', 'is', null)
      .orderBy('received_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ orgId: r.org_id, deliveryId: r.delivery_id }));
  }

  /**
   * Drop the raw bodies of these deliveries and stamp `payload_removed_at`; the row (status,
   * trace, hash, size, times) stays. Only bodies still kept and no longer `received` are touched,
   * so a repeat counts nothing; with a claim, only while it is still the coordinator's term of
   * record. Returns how many bodies went.
   */
  async removePayloads(keys: readonly DeliveryKey[], at: Date, claim?: CoordinatorClaim): Promise<number> {
    if (keys.length === 0) return 0;
    const pairs = jsonb(keys.map((k) => [k.orgId, k.deliveryId]));
    let query = this.db
      .updateTable('deliveries')
      .set({ body: new Uint8Array(0), payload_removed_at: at })
      .where(sql<boolean>`(org_id, delivery_id) in (select k->>0, k->>1 from jsonb_array_elements(${pairs}) as k)`)
      .where('status', '<>', 'received')
      .where('payload_removed_at', 'is', null);
    if (claim) query = query.where(heldBy(claim));
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Delete dedup keys whose window has passed (`expires_at <= now`); returns how many went. */
  /** Delete expired keys; with a claim, only while it is still the coordinator's term of record. */
  async sweepDedupKeys(now: Date, claim?: CoordinatorClaim): Promise<number> {
    let query = this.db.deleteFrom('dedup_keys').where('expires_at', '<=', now);
    if (claim) query = query.where(heldBy(claim));
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Count of rows per status for one org (metrics, admin overview). */
  async countByStatus(orgId: string): Promise<Partial<Record<DeliveryStatus, number>>> {
    const rows = await this.db
      .selectFrom('deliveries')
      .select(['status', sql<number>`count(*)::int`.as('count')])
      .where('org_id', '=', orgId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, r.count]));
  }
}

async function firstDeliveryForKey(db: Db, key: string, now?: Date): Promise<DeliveryRecord | null> {
  let query = db
    .selectFrom('dedup_keys')
    .innerJoin('deliveries', (join) =>
      join
        .onRef('deliveries.org_id', '=', 'dedup_keys.org_id')
        .onRef('deliveries.delivery_id', '=', 'dedup_keys.delivery_id'),
    )
    .select(SUMMARY_COLUMNS.map((c) => `deliveries.${c}` as const))
    .where('dedup_keys.key', '=', key);
  if (now !== undefined) query = query.where('dedup_keys.expires_at', '>', now);
  const row = await query.executeTakeFirst();
  return row ? toRecord(row) : null;
}

async function readDelivery(db: Db, orgId: string, deliveryId: string): Promise<DeliveryRecord | null> {
  const row = await db
    .selectFrom('deliveries')
    .select(SUMMARY_COLUMNS)
    .where('org_id', '=', orgId)
    .where('delivery_id', '=', deliveryId)
    .executeTakeFirst();
  return row ? toRecord(row) : null;
}

/** The UPDATE that records a delivery's outcome (only from `expectedStatus`, when given). */
export function outcomeUpdate(db: Db, orgId: string, deliveryId: string, outcome: DeliveryOutcome, now: Date, expectedStatus?: DeliveryStatus) {
  const query = db
    .updateTable('deliveries')
    .set({
      status: outcome.status,
      processed_at: now,
      ...(outcome.matchedCount !== undefined && { matched_count: outcome.matchedCount }),
      ...(outcome.trace !== undefined && { trace: jsonb(outcome.trace) }),
      ...(outcome.error !== undefined && { error: outcome.error }),
      ...(outcome.eventType !== undefined && { event_type: outcome.eventType }),
      ...(outcome.action !== undefined && { action: outcome.action }),
    })
    .where('org_id', '=', orgId)
    .where('delivery_id', '=', deliveryId);
  return expectedStatus !== undefined ? query.where('status', '=', expectedStatus) : query;
}
