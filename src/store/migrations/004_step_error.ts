/**
 * Why a step ended the way it did when its agent could not say: a step left unfinished by a job
 * that ended (cancelled, lost, stale, skipped) ends with the job, and with the job's reason.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE steps ADD COLUMN error text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE steps DROP COLUMN IF EXISTS error`.execute(db);
}
