/**
 * The accept: a webhook's dedup key and its delivery row committed in one statement before the
 * route answers. Accepts that arrive together (within one turn of the event loop, or while earlier
 * ones are out) leave in one statement of many rows (group commit), each answered with its own
 * row; an idle node sends a lone accept at once, as the single-row statement. A batch that fails
 * as a whole is retried accept by accept, so one accept's failure is never another's.
 *
 * Every sub-statement sees the snapshot the statement began with, so conditions are on the CTEs'
 * RETURNING rows, never on rows another CTE wrote. A concurrent accept's rows committed after that
 * snapshot are seen only by the unique indexes (which wait for it and decide), and leave `outcome`
 * null for the repository to settle with reads of its own.
 */
import { sql } from 'kysely';
import type { DatabaseDriver, Db } from './database.js';
import { DEDUP_TTL_MS, deliveryShard, type NewDelivery, payloadHash, SUMMARY_COLUMNS, type SummaryRow } from './deliveries.js';
import { GroupCommit } from './group-commit.js';
import { jsonb, jsonText } from './sql-values.js';

export interface AcceptRow extends SummaryRow {
  /** Whether this statement claimed the dedup key (true when there is none). */
  claimed: boolean;
  /** Null: undecided by this statement's snapshot (see `DeliveryRepository.record`). */
  outcome: 'accepted' | 'duplicate' | null;
}

/** Bodies travel hex-encoded in a batch's JSON: larger ones are accepted alone, as bytea. */
const BATCHED_BODY_MAX_BYTES = 64 * 1024;

interface Accept {
  input: NewDelivery;
  now: Date;
}

export class DeliveryAccepts {
  private readonly group: GroupCommit<Accept, AcceptRow | undefined>;

  constructor(
    private readonly db: Db,
    driver?: DatabaseDriver,
  ) {
    this.group = new GroupCommit<Accept, AcceptRow | undefined>({
      flush: (accepts) => acceptBatch(db, accepts),
      single: (a) => acceptOne(db, a),
      // A webhook's reply waits on its accept: over a socket (PostgreSQL) an idle node sends it
      // without a hop. PGlite answers within the process so soon that the next accept would always
      // find none out and go alone too: there accepts wait for the round's end and share statements.
      loneAtOnce: driver === 'postgres',
      // Accepts of one delivery, or of one dedup key, never share a batch: the second would only
      // meet the first's uncommitted row (and a key claimed twice in one statement is an error).
      keyOf: (a) => {
        const delivery = `delivery:${a.input.orgId}/${a.input.deliveryId}`;
        return a.input.dedupKey === undefined ? delivery : [delivery, `key:${a.input.dedupKey}`];
      },
    });
  }

  accept(input: NewDelivery, now: Date): Promise<AcceptRow | undefined> {
    if (input.body.byteLength > BATCHED_BODY_MAX_BYTES) return acceptOne(this.db, { input, now });
    return this.group.submit({ input, now });
  }
}

let summaryText: { plain: string; ofD: string } | undefined;
/** The summary columns as SQL (made on first use: this module and deliveries.ts import each other). */
function summary(): { plain: string; ofD: string } {
  summaryText ??= { plain: SUMMARY_COLUMNS.join(', '), ofD: SUMMARY_COLUMNS.map((c) => `d.${c}`).join(', ') };
  return summaryText;
}

const expiryOf = (a: Accept) => new Date(a.now.getTime() + (a.input.dedupTtlMs ?? DEDUP_TTL_MS));

/**
 * One accept. `claim` inserts the dedup key or takes over an expired one (nothing returned while a
 * live key holds it; with no key, always claimed); `accepted` inserts the delivery only when
 * `claim` returned the key; `first` is the delivery behind the live key that stopped the claim;
 * `existing` is the row with the same (org, delivery id) when the key was claimed but the delivery
 * id was taken.
 */
async function acceptOne(db: Db, a: Accept): Promise<AcceptRow | undefined> {
  const { input, now } = a;
  const key = input.dedupKey;
  const SUMMARY = sql.raw(summary().plain);
  const SUMMARY_OF_D = sql.raw(summary().ofD);
  const claim =
    key === undefined
      ? sql`select true as claimed`
      : sql`insert into dedup_keys (key, org_id, delivery_id, expires_at)
    values (${key}, ${input.orgId}, ${input.deliveryId}, ${expiryOf(a)})
    on conflict (key) do update
      set org_id = excluded.org_id, delivery_id = excluded.delivery_id, expires_at = excluded.expires_at
      where dedup_keys.expires_at <= ${now}
    returning true as claimed`;
  const first =
    key === undefined
      ? sql`select ${SUMMARY_OF_D} from deliveries d where false`
      : sql`select ${SUMMARY_OF_D} from dedup_keys k
    join deliveries d on d.org_id = k.org_id and d.delivery_id = k.delivery_id
    where k.key = ${key} and k.expires_at > ${now} and not exists (select 1 from claim)`;
  const { rows } = await sql<AcceptRow>`with claim as (
  ${claim}
), accepted as (
  insert into deliveries (org_id, delivery_id, source_id, source_kind, event_type, action, status, shard, body, headers, payload_hash, payload_size, received_at)
  select ${input.orgId}::text, ${input.deliveryId}::text, ${input.sourceId}::text, ${input.sourceKind}::text, ${input.eventType}::text, ${input.action ?? null}::text,
    'received', ${deliveryShard(input.deliveryId)}::integer, ${input.body}::bytea, ${jsonb(input.headers)}, ${payloadHash(input.body)}::text,
    ${input.body.byteLength}::integer, ${now}::timestamptz
  where exists (select 1 from claim)
  on conflict (org_id, delivery_id) do nothing
  returning ${SUMMARY}
), first as (
  ${first}
), existing as (
  select ${SUMMARY} from deliveries
  where org_id = ${input.orgId} and delivery_id = ${input.deliveryId}
    and exists (select 1 from claim) and not exists (select 1 from accepted)
)
select exists (select 1 from claim) as claimed, r.*
from (values (1)) as one (x)
left join (
  select 'accepted' as outcome, ${SUMMARY} from accepted
  union all select 'duplicate', ${SUMMARY} from first
  union all select 'duplicate', ${SUMMARY} from existing
) r on true`.execute(db);
  return rows[0];
}

/**
 * Many accepts in one statement, as `acceptOne` does each: the rows come in as one JSON
 * parameter (bodies hex-encoded), so the statement's text is the same for any number of them. An
 * expired key is taken over only if it expired by the earliest accept's time, and a live key is
 * live at it: a few milliseconds on the side of keeping a key.
 */
async function acceptBatch(db: Db, accepts: readonly Accept[]): Promise<(AcceptRow | undefined)[]> {
  const now = new Date(Math.min(...accepts.map((a) => a.now.getTime())));
  const rows = accepts.map((a, n) => ({
    n,
    org_id: a.input.orgId,
    delivery_id: a.input.deliveryId,
    source_id: a.input.sourceId,
    source_kind: a.input.sourceKind,
    event_type: a.input.eventType,
    action: a.input.action ?? null,
    shard: deliveryShard(a.input.deliveryId),
    body: Buffer.from(a.input.body.buffer, a.input.body.byteOffset, a.input.body.byteLength).toString('hex'),
    headers: a.input.headers,
    payload_hash: payloadHash(a.input.body),
    payload_size: a.input.body.byteLength,
    received_at: a.now,
    dedup_key: a.input.dedupKey ?? null,
    expires_at: expiryOf(a),
  }));
  const { plain, ofD } = summary();
  const SUMMARY = sql.raw(plain);
  const SUMMARY_OF_A = sql.raw(SUMMARY_COLUMNS.map((c) => `a.${c}`).join(', '));
  const SUMMARY_OF_D = sql.raw(ofD);
  const { rows: answers } = await sql<AcceptRow & { n: number }>`with input as (
  select * from jsonb_to_recordset(cast(${jsonText(rows)}::text as jsonb)) as i(n integer, org_id text, delivery_id text,
    source_id text, source_kind text, event_type text, action text, shard integer, body text, headers jsonb, payload_hash text,
    payload_size integer, received_at timestamptz, dedup_key text, expires_at timestamptz)
), claim as (
  insert into dedup_keys (key, org_id, delivery_id, expires_at)
  select i.dedup_key, i.org_id, i.delivery_id, i.expires_at from input i where i.dedup_key is not null
  on conflict (key) do update
    set org_id = excluded.org_id, delivery_id = excluded.delivery_id, expires_at = excluded.expires_at
    where dedup_keys.expires_at <= ${now}
  returning key
), claimed as (
  select i.n from input i where i.dedup_key is null or exists (select 1 from claim c where c.key = i.dedup_key)
), accepted as (
  insert into deliveries (org_id, delivery_id, source_id, source_kind, event_type, action, status, shard, body, headers, payload_hash, payload_size, received_at)
  select i.org_id, i.delivery_id, i.source_id, i.source_kind, i.event_type, i.action, 'received', i.shard, decode(i.body, 'hex'),
    i.headers, i.payload_hash, i.payload_size, i.received_at
  from input i where i.n in (select n from claimed)
  on conflict (org_id, delivery_id) do nothing
  returning ${SUMMARY}
), first as (
  select i.n, ${SUMMARY_OF_D} from input i
  join dedup_keys k on k.key = i.dedup_key
  join deliveries d on d.org_id = k.org_id and d.delivery_id = k.delivery_id
  where k.expires_at > ${now} and i.n not in (select n from claimed)
), existing as (
  select i.n, ${SUMMARY_OF_D} from input i
  join deliveries d on d.org_id = i.org_id and d.delivery_id = i.delivery_id
  where i.n in (select n from claimed)
    and not exists (select 1 from accepted a where a.org_id = i.org_id and a.delivery_id = i.delivery_id)
)
select i.n, i.n in (select n from claimed) as claimed, r.*
from input i
left join (
  select i.n as answers, 'accepted' as outcome, ${SUMMARY_OF_A} from input i join accepted a on a.org_id = i.org_id and a.delivery_id = i.delivery_id
  union all select n, 'duplicate', ${SUMMARY} from first
  union all select n, 'duplicate', ${SUMMARY} from existing
) r on r.answers = i.n
order by i.n`.execute(db);
  const byN = new Map(answers.map(({ n, ...row }) => [n, row as AcceptRow]));
  return accepts.map((_, n) => byN.get(n));
}
