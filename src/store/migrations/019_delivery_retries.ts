/**
 * 019_delivery_retries: a delivery that cannot be processed yet (GitHub answered 5xx, a rate limit,
 * a timeout) stays `received` and is tried again with backoff: `attempts` counts the tries that
 * ended so, `retry_after` is when the owner of its shard may try again (null: whenever it sweeps).
 * The sweep's listing skips deliveries not yet due; the event log shows both.
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  'ALTER TABLE deliveries ADD COLUMN attempts integer NOT NULL DEFAULT 0',
  'ALTER TABLE deliveries ADD COLUMN retry_after timestamptz',
];

const DOWN: string[] = ['ALTER TABLE deliveries DROP COLUMN IF EXISTS retry_after', 'ALTER TABLE deliveries DROP COLUMN IF EXISTS attempts'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
