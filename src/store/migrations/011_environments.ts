/**
 * 011_environments: deployment environments as seed 000 describes them — `environments` with
 * their protection rules, their variables and per-source overrides, `held_runs` (jobs a gate holds)
 * with one row per reviewer's decision, and `runs.environment` (the run's concurrency group).
 *
 * Operators write these tables by hand (the seed's INSERT/UPDATE statements), so ids default in
 * the database, and the CHECKs refuse what would loosen protection silently: a rule list that is
 * not an array of strings, a glob environment without its glob. The seed's monitoring queries name
 * `execution_runs` (`run_id`, `environment`) and `execution_jobs` (`job_name`, `error_message`):
 * views over `runs` and `jobs` give those names without renaming our tables.
 */
import { type Kysely, sql } from 'kysely';

/** A jsonb column holding a JSON array of strings (and nothing else). */
const stringArray = (column: string) =>
  `CHECK (jsonb_typeof(${column}) = 'array' AND NOT jsonb_path_exists(${column}, 'strict $[*] ? (@.type() != "string")'))`;

const UP: string[] = [
  `CREATE TABLE environments (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     org_id text NOT NULL CHECK (org_id <> ''),
     name text NOT NULL CHECK (name <> ''),
     type text NOT NULL DEFAULT 'fixed' CHECK (type IN ('fixed', 'glob')),
     glob_pattern text,
     enabled boolean NOT NULL DEFAULT true,
     branch_restrictions jsonb NOT NULL DEFAULT '[]'::jsonb ${stringArray('branch_restrictions')},
     trigger_type_filters jsonb NOT NULL DEFAULT '[]'::jsonb ${stringArray('trigger_type_filters')},
     repo_patterns jsonb NOT NULL DEFAULT '[]'::jsonb ${stringArray('repo_patterns')},
     minimum_trust text CHECK (minimum_trust IN ('known', 'trusted')),
     required_reviewers jsonb NOT NULL DEFAULT '[]'::jsonb ${stringArray('required_reviewers')},
     wait_timer_seconds integer CHECK (wait_timer_seconds >= 0),
     concurrency_limit integer CHECK (concurrency_limit >= 0),
     concurrency_strategy text NOT NULL DEFAULT 'queue' CHECK (concurrency_strategy IN ('queue', 'cancel-pending')),
     hold_expiry_seconds integer NOT NULL DEFAULT 3600 CHECK (hold_expiry_seconds > 0),
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT environments_org_name UNIQUE (org_id, name),
     CONSTRAINT environments_org_id UNIQUE (org_id, id),
     CONSTRAINT environments_glob_pattern CHECK (
       CASE type WHEN 'glob' THEN glob_pattern IS NOT NULL AND glob_pattern <> '' ELSE glob_pattern IS NULL END)
   )`,

  // (org_id, environment_id) references the environment's own pair: a row cannot name the
  // environment of another org. Variable and override values are not secret (secrets live apart).
  `CREATE TABLE environment_variables (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     org_id text NOT NULL,
     environment_id uuid NOT NULL,
     key text NOT NULL CHECK (key <> ''),
     value text NOT NULL,
     locked boolean NOT NULL DEFAULT false,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT environment_variables_key UNIQUE (environment_id, key),
     FOREIGN KEY (org_id, environment_id) REFERENCES environments (org_id, id) ON DELETE CASCADE
   )`,

  // routing_key: the source a delivery came through; its overrides apply to jobs it triggered.
  `CREATE TABLE environment_source_overrides (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     org_id text NOT NULL,
     environment_id uuid NOT NULL,
     routing_key text NOT NULL CHECK (routing_key <> ''),
     key text NOT NULL CHECK (key <> ''),
     value text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT environment_source_overrides_key UNIQUE (environment_id, routing_key, key),
     FOREIGN KEY (org_id, environment_id) REFERENCES environments (org_id, id) ON DELETE CASCADE
   )`,

  // One hold per job (seed 000; KiCI's docs promise it and its schema lacks it). A decided hold is
  // history: it outlives its environment (SET NULL), never a pending one (deleting is refused then).
  // `gate` says which gate holds the job; `required_reviewers` is the list at hold time, so a later
  // change to the environment cannot approve or strand a hold already waiting.
  `CREATE TABLE held_runs (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     org_id text NOT NULL,
     run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
     environment_id uuid REFERENCES environments (id) ON DELETE SET NULL,
     gate text NOT NULL CHECK (gate IN ('trust', 'reviewers')),
     required_reviewers jsonb NOT NULL DEFAULT '[]'::jsonb ${stringArray('required_reviewers')},
     status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
     expires_at timestamptz NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     decided_at timestamptz,
     decided_by text,
     reason text,
     CONSTRAINT held_runs_run_job UNIQUE (run_id, job_id),
     CONSTRAINT held_runs_decided CHECK ((status = 'pending') = (decided_at IS NULL))
   )`,
  `CREATE INDEX held_runs_org_status ON held_runs (org_id, status)`,
  // The coordinator's expiry duty and the delete guard look only at pending holds.
  `CREATE INDEX held_runs_pending_expiry ON held_runs (expires_at) WHERE status = 'pending'`,
  `CREATE INDEX held_runs_pending_environment ON held_runs (environment_id) WHERE status = 'pending'`,

  // Each reviewer decides once per hold.
  `CREATE TABLE held_run_approvals (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     held_run_id uuid NOT NULL REFERENCES held_runs (id) ON DELETE CASCADE,
     reviewer text NOT NULL CHECK (reviewer <> ''),
     decision text NOT NULL CHECK (decision IN ('approve', 'reject')),
     reason text,
     at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT held_run_approvals_once UNIQUE (held_run_id, reviewer)
   )`,

  // The concurrency group a run counts against (its job's environment or concurrencyGroup).
  `ALTER TABLE runs ADD COLUMN environment text`,
  `CREATE INDEX runs_environment_status ON runs (environment, status) WHERE environment IS NOT NULL`,

  // KiCI's names for the seed's queries. Plain column lists, so PostgreSQL can also update through them.
  `CREATE VIEW execution_runs AS
     SELECT id AS run_id, org_id, source_id, delivery_id, workflow_name, status, environment, attempt,
            branch, sha, error AS error_message, created_at, started_at, finished_at
       FROM runs`,
  `CREATE VIEW execution_jobs AS
     SELECT id, run_id, name AS job_name, status, agent_id, error AS error_message,
            created_at, started_at, finished_at
       FROM jobs`,
];

const DOWN: string[] = [
  'DROP VIEW IF EXISTS execution_jobs',
  'DROP VIEW IF EXISTS execution_runs',
  'DROP INDEX IF EXISTS runs_environment_status',
  'ALTER TABLE runs DROP COLUMN IF EXISTS environment',
  'DROP TABLE IF EXISTS held_run_approvals',
  'DROP TABLE IF EXISTS held_runs',
  'DROP TABLE IF EXISTS environment_source_overrides',
  'DROP TABLE IF EXISTS environment_variables',
  'DROP TABLE IF EXISTS environments',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
