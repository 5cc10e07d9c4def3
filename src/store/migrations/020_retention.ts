/**
 * 020_retention: what retention removed, and when (issue 19). Raw webhook bodies and step logs are
 * deleted once older than their retention (KICI_RETENTION_DELIVERY_DAYS, KICI_RETENTION_LOG_DAYS);
 * the rows that described them stay, so the event log and `runs show` keep their history.
 *
 * - `deliveries.payload_removed_at`: set when the body was dropped (the `body` column is emptied,
 *   the hash and size stay), so reading the payload says "removed by retention on <date>" instead
 *   of handing back an empty body as if the sender had sent one.
 * - `runs.logs_removed_at`: set once the run's step logs were deleted from object storage, so the
 *   logs route says so instead of streaming nothing.
 *
 * The partial indexes hold only what retention still has to look at, oldest first: once a row is
 * purged it leaves its index, so a tick over years of history reads the next batch, never a scan.
 * `event_log` (018) names its columns, so adding these needs no change to the view.
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  'ALTER TABLE deliveries ADD COLUMN payload_removed_at timestamptz',
  'ALTER TABLE runs ADD COLUMN logs_removed_at timestamptz',
  `CREATE INDEX deliveries_payload_retention ON deliveries (received_at)
     WHERE payload_removed_at IS NULL AND status <> 'received'`,
  `CREATE INDEX runs_log_retention ON runs (finished_at)
     WHERE logs_removed_at IS NULL AND finished_at IS NOT NULL`,
];

const DOWN: string[] = [
  'DROP INDEX IF EXISTS runs_log_retention',
  'DROP INDEX IF EXISTS deliveries_payload_retention',
  'ALTER TABLE runs DROP COLUMN IF EXISTS logs_removed_at',
  'ALTER TABLE deliveries DROP COLUMN IF EXISTS payload_removed_at',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
