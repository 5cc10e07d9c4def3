/**
 * A run's jobs in the order of its plan (the lock file's order, matrix children by name): they are
 * created in one statement with one `created_at`, so that column cannot tell them apart.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE jobs ADD COLUMN plan_index integer NOT NULL DEFAULT 0`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE jobs DROP COLUMN IF EXISTS plan_index`.execute(db);
}
