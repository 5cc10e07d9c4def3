/**
 * The event log (`deliveries`) and webhook dedup.
 *
 * `record` is the commit-then-202 step: the dedup key and the delivery row (raw body
 * included) commit in one transaction before the route answers, so an accepted delivery is never
 * lost and never accepted twice. Processing later moves the row out of `received`. Every row
 * carries its shard (`deliveryShard`): rows still `received` after a crash are what `listReceived`
 * hands the owner of their shard (at start, when it gains the shard, and in its sweep).
 */
import { heldBy, type CoordinatorClaim } from './coordinator-term.js';
import { createHash } from 'node:crypto';
import { type Selectable, sql } from 'kysely';
import { shardOf } from '../actors/index.js';
import type { Db } from './database.js';
import { inTransaction } from './guards.js';
import type { DeliveriesTable, DeliveryStatus, SourceKind } from './schema.js';
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

const SUMMARY_COLUMNS = [
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
] as const;

type SummaryRow = Pick<Selectable<DeliveriesTable>, (typeof SUMMARY_COLUMNS)[number]>;

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
  constructor(private readonly db: Db) {}

  /** Commit-then-202: dedup key + delivery row in one transaction. */
  record(input: NewDelivery, now: Date): Promise<RecordDeliveryResult> {
    return inTransaction(this.db, async (trx) => {
      if (input.dedupKey !== undefined) {
        const claimed = await claimDedupKey(trx, input, now);
        if (!claimed) {
          const first = await firstDeliveryForKey(trx, input.dedupKey);
          if (first) return { outcome: 'duplicate', first };
        }
      }
      const row = await trx
        .insertInto('deliveries')
        .values({
          org_id: input.orgId,
          delivery_id: input.deliveryId,
          source_id: input.sourceId,
          source_kind: input.sourceKind,
          event_type: input.eventType,
          action: input.action ?? null,
          status: 'received',
          shard: deliveryShard(input.deliveryId),
          body: input.body,
          headers: jsonb(input.headers),
          payload_hash: payloadHash(input.body),
          payload_size: input.body.byteLength,
          received_at: now,
        })
        .onConflict((oc) => oc.columns(['org_id', 'delivery_id']).doNothing())
        .returning(SUMMARY_COLUMNS)
        .executeTakeFirst();
      if (row) return { outcome: 'accepted', delivery: toRecord(row) };
      // Same delivery id after its dedup key expired (or with none): the row is the first outcome.
      const first = await readDelivery(trx, input.orgId, input.deliveryId);
      if (!first) throw new Error(`delivery ${input.deliveryId} conflicted but cannot be read`);
      return { outcome: 'duplicate', first };
    });
  }

  /**
   * The delivery a live dedup key points at (the "seen before?" check ahead of the commit). The
   * commit itself re-checks inside its transaction, so a race between two identical requests still
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
    let query = this.db
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
    if (expectedStatus !== undefined) query = query.where('status', '=', expectedStatus);
    const result = await query.executeTakeFirst();
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

/** Insert the key, or take over an expired one; false when a live key already exists. */
async function claimDedupKey(db: Db, input: NewDelivery, now: Date): Promise<boolean> {
  const expiresAt = new Date(now.getTime() + (input.dedupTtlMs ?? DEDUP_TTL_MS));
  const row = await db
    .insertInto('dedup_keys')
    .values({ key: input.dedupKey!, org_id: input.orgId, delivery_id: input.deliveryId, expires_at: expiresAt })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet({
          org_id: input.orgId,
          delivery_id: input.deliveryId,
          expires_at: expiresAt,
        })
        .where('dedup_keys.expires_at', '<=', now),
    )
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
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
