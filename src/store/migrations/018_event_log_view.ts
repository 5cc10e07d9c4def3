/**
 * 018_event_log_view: KiCI's `event_log`, for operators' SQL (issue 18). KiCI's orchestrator keeps
 * one row per (org_id, delivery_id) in a table of that name; kici keeps the same facts in
 * `deliveries` (001), so `event_log` is a view over those rows, one row per delivery, with KiCI's
 * column names and vocabulary. Read-only in practice: write through the deliveries repository.
 *
 * `status`, KiCI's six outcomes, from kici's seven delivery statuses:
 *   received          → received          (not processed yet, or kept for a retry: `error` says why)
 *   processed         → processed
 *   duplicate         → duplicate         (a later delivery of a push that already has its runs)
 *   filtered          → processed         (kici's own: a generic source's event type not in its
 *                                          allowed list; taken, recorded, and nothing matched, so
 *                                          KiCI's nearest is `processed` with `matched_count` 0)
 *   lockfile_missing  → lockfile_missing
 *   lockfile_corrupt  → lockfile_corrupt
 *   failed            → failed
 * `kici_status` keeps kici's own status, so the one folded outcome can still be told apart.
 *
 * A redelivery under a delivery id (or idempotency key) already seen is answered from the first
 * delivery's row and writes no row of its own, as KiCI's upsert per (org_id, delivery_id) does:
 * `duplicate` here is what the processing decided (the same source, ref and commit already claimed).
 *
 * `source` is always 'direct': kici has no Platform relay, every delivery came to its own webhook
 * routes. `payload_hash` is stored at accept time: the SHA-256 of the raw request body, hex (the
 * body is kept raw in `deliveries.body`; only the object-storage copy is gzipped). `payload_size`
 * is the raw body's length in bytes; `payload_bytes` is the same number under the other name
 * operators' queries use. kici never omits a payload (the row always holds the body), so KiCI's
 * `payload_omitted` has no column here.
 *
 * A later migration that changes the type of a `deliveries` column this view names has to drop
 * and re-create the view around the change (PostgreSQL refuses to alter a column a view uses).
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  `CREATE VIEW event_log AS
     SELECT org_id, delivery_id, source_id, source_kind, event_type, action,
            CASE status WHEN 'filtered' THEN 'processed' ELSE status END AS status,
            status AS kici_status,
            'direct'::text AS source,
            matched_count, payload_size, payload_size AS payload_bytes, payload_hash,
            error, trace, received_at, processed_at
       FROM deliveries`,
];

const DOWN: string[] = ['DROP VIEW IF EXISTS event_log'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
