/**
 * 014_held_run_gates: a job may be held once per gate, and a hold may end without a decision.
 *
 * Migration 011 kept one hold per job (`UNIQUE (run_id, job_id)`), but a pull-request job can be
 * held twice in its life: first for trust (a security review of who pushed), then, once trusted,
 * for its environment's reviewers. Each is its own decision with its own votes, so the key becomes
 * (run_id, job_id, gate): still one hold per job and gate, which is what makes holding a job again
 * after a restart (`INSERT … ON CONFLICT DO NOTHING`) keep the hold already waiting.
 *
 * `cancelled` joins the statuses: the job ended without anyone deciding (its run was cancelled or
 * timed out). Without it such a hold would stay `pending` for ever, counted in the pending gauges
 * and blocking its environment's delete, or be written as `expired`, which says something false.
 * A cancelled hold is closed like a decided one: `held_runs_decided` (pending ⇔ no decided_at) is
 * left as it is and holds for it too.
 *
 * Down: the old key and status list come back. Rows they would refuse are rewritten first: a
 * `cancelled` hold becomes `expired` (the nearest of the old four: closed, nobody decided), and of
 * a job's holds only its newest stays (the gate that held it last).
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  'ALTER TABLE held_runs DROP CONSTRAINT held_runs_run_job',
  'ALTER TABLE held_runs ADD CONSTRAINT held_runs_run_job_gate UNIQUE (run_id, job_id, gate)',
  // 011 declared the list inline on the column, so PostgreSQL named it `held_runs_status_check`.
  'ALTER TABLE held_runs DROP CONSTRAINT held_runs_status_check',
  `ALTER TABLE held_runs ADD CONSTRAINT held_runs_status_check
     CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'cancelled'))`,
];

const DOWN: string[] = [
  `UPDATE held_runs SET status = 'expired' WHERE status = 'cancelled'`,
  'ALTER TABLE held_runs DROP CONSTRAINT held_runs_status_check',
  `ALTER TABLE held_runs ADD CONSTRAINT held_runs_status_check
     CHECK (status IN ('pending', 'approved', 'rejected', 'expired'))`,
  `DELETE FROM held_runs hr
     WHERE EXISTS (SELECT 1 FROM held_runs newer
                    WHERE newer.run_id = hr.run_id AND newer.job_id = hr.job_id
                      AND (newer.created_at, newer.id) > (hr.created_at, hr.id))`,
  'ALTER TABLE held_runs DROP CONSTRAINT held_runs_run_job_gate',
  'ALTER TABLE held_runs ADD CONSTRAINT held_runs_run_job UNIQUE (run_id, job_id)',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
