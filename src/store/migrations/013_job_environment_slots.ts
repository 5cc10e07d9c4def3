/**
 * 013_job_environment_slots: where a job stands at its environments' protection gates, and the
 * concurrency-group slots it holds or waits for, so that both survive a restart or a shard move
 * (invariant 4: a group's new owner rebuilds who holds its slots from here).
 *
 * Kept on the job row (`jobs.environment_gate`, jsonb) rather than in a table of its own: every
 * change rides on the job's own fenced write (fence.ts), in the same statement as its status, so
 * the slots a job holds and its status can never disagree and a deposed owner cannot write either.
 * The shape: {passed: [gate…], waiting: 'concurrency'|'wait-timer'|null, reason, waitUntil (ms),
 * slots: [{group, state: 'held'|'waiting', requestedAt (ms), limit, strategy, rulesAt (ms)}]}.
 *
 * `job_environment_slots` is a view with one row per (org, group, run, job) of an unfinished job,
 * for operators (and the EnvGroupActor's rebuild reads the same rows through the GIN index).
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  'ALTER TABLE jobs ADD COLUMN environment_gate jsonb',
  `ALTER TABLE jobs ADD CONSTRAINT jobs_environment_gate_shape
     CHECK (environment_gate IS NULL OR (jsonb_typeof(environment_gate) = 'object' AND jsonb_typeof(environment_gate -> 'slots') = 'array'))`,
  // Only unfinished jobs' slots count; the rebuild asks "which jobs are in group G".
  `CREATE INDEX jobs_environment_slots ON jobs USING gin ((environment_gate -> 'slots') jsonb_path_ops)
     WHERE environment_gate IS NOT NULL AND status IN ('pending', 'queued', 'running', 'recovering', 'cancelling')`,
  `CREATE VIEW job_environment_slots AS
     SELECT r.org_id, s.value ->> 'group' AS "group", j.run_id, j.id AS job_id, s.value ->> 'state' AS state,
            to_timestamp((s.value ->> 'requestedAt')::double precision / 1000) AS requested_at,
            (s.value ->> 'limit')::integer AS "limit", s.value ->> 'strategy' AS strategy, j.status AS job_status
     FROM jobs j
     JOIN runs r ON r.id = j.run_id
     CROSS JOIN LATERAL jsonb_array_elements(j.environment_gate -> 'slots') AS s(value)
     WHERE j.environment_gate IS NOT NULL AND j.status IN ('pending', 'queued', 'running', 'recovering', 'cancelling')`,
];

const DOWN: string[] = [
  'DROP VIEW IF EXISTS job_environment_slots',
  'DROP INDEX IF EXISTS jobs_environment_slots',
  'ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_environment_gate_shape',
  'ALTER TABLE jobs DROP COLUMN IF EXISTS environment_gate',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
