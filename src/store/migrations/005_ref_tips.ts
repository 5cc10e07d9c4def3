/**
 * Pushes that are never lost. `ref_tips` is the last commit processed for each branch of a git
 * source, so a reconcile after downtime can tell which branches moved without a delivery;
 * `ref_tip_baselines` says a source's tips were recorded once (a source seen for the first time
 * only records them: it must not run every branch). `ref_pushes` names the one delivery that owns
 * the runs of a (source, ref, commit), so the hook's delivery, a spooled one flushed later and a
 * reconcile are one push, whichever came first.
 */
import { sql, type Kysely } from 'kysely';

const UP = [
  `CREATE TABLE ref_tips (
     source_id text NOT NULL,
     ref text NOT NULL,
     sha text NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (source_id, ref)
   )`,
  `CREATE TABLE ref_tip_baselines (
     source_id text PRIMARY KEY,
     taken_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE ref_pushes (
     source_id text NOT NULL,
     ref text NOT NULL,
     sha text NOT NULL,
     delivery_id text NOT NULL,
     claimed_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (source_id, ref, sha)
   )`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['ref_pushes', 'ref_tip_baselines', 'ref_tips']) await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(db);
}
