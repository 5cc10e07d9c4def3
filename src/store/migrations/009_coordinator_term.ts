/**
 * The coordinator's term of record: one row, the highest Raft term a leader has claimed for its
 * duties, and which node claimed it. A leader claims its term before each duty runs, and a duty's
 * writes check the row in the same statement, so a deposed coordinator (its term passed by a
 * newer leader's claim) writes nothing more, even if it has not yet heard that it lost.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE coordinator_term (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    term bigint NOT NULL CHECK (term >= 0),
    node text NOT NULL,
    claimed_at timestamptz NOT NULL
  )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS coordinator_term`.execute(db);
}
