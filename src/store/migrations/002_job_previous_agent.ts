/**
 * A requeued job remembers the agent of the dispatch before it, so that agent's copy can be
 * adopted when it comes back (instead of being stopped and run a second time), and nobody else's.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE jobs ADD COLUMN previous_agent_id text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE jobs DROP COLUMN IF EXISTS previous_agent_id`.execute(db);
}
