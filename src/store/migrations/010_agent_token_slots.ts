/**
 * The most slots (maxConcurrency) an agent may declare with a token. An agent's frame budget grows
 * with its slots, so the cap is what keeps one token's agent from claiming an unlimited budget.
 * Null: the default cap (DEFAULT_AGENT_SLOT_CAP), which every token made before this one gets.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE agent_tokens ADD COLUMN max_concurrency integer
    CONSTRAINT agent_tokens_max_concurrency_range CHECK (max_concurrency BETWEEN 1 AND 10000)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE agent_tokens DROP COLUMN IF EXISTS max_concurrency`.execute(db);
}
