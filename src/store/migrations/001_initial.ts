/**
 * 001_initial: everything the single-node path needs (sources, secrets, tokens, agents, the event log,
 * dedup, workflow registrations, the shard map, runs/jobs/needs/steps).
 *
 * Written as plain PostgreSQL 15 statements, one per `execute` (PGlite's extended protocol takes one
 * statement at a time). Status columns carry CHECK constraints so a typo in a repository fails loudly.
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  `CREATE TABLE sources (
     id text PRIMARY KEY,
     org_id text NOT NULL,
     kind text NOT NULL CHECK (kind IN ('git', 'generic', 'github')),
     name text NOT NULL,
     enabled boolean NOT NULL DEFAULT true,
     url text,
     default_branch text,
     verification text NOT NULL CHECK (verification IN ('hmac_sha256', 'bearer_token', 'none')),
     config jsonb NOT NULL DEFAULT '{}'::jsonb,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now(),
     deleted_at timestamptz
   )`,
  // A name can be reused once the old source is soft-deleted.
  `CREATE UNIQUE INDEX sources_org_name_live ON sources (org_id, name) WHERE deleted_at IS NULL`,

  `CREATE TABLE sealed_secrets (
     org_id text NOT NULL,
     scope text NOT NULL,
     key text NOT NULL,
     ciphertext bytea NOT NULL,
     iv bytea NOT NULL,
     tag bytea NOT NULL,
     key_version integer NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (org_id, scope, key)
   )`,

  `CREATE TABLE admin_tokens (
     id text PRIMARY KEY,
     name text NOT NULL,
     token_hash text NOT NULL UNIQUE,
     prefix text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     revoked_at timestamptz
   )`,

  `CREATE TABLE agent_tokens (
     id text PRIMARY KEY,
     name text NOT NULL,
     token_hash text NOT NULL UNIQUE,
     prefix text NOT NULL,
     labels jsonb,
     created_at timestamptz NOT NULL DEFAULT now(),
     revoked_at timestamptz,
     expires_at timestamptz
   )`,

  `CREATE TABLE agents (
     id text PRIMARY KEY,
     token_id text NOT NULL REFERENCES agent_tokens (id),
     labels jsonb NOT NULL DEFAULT '[]'::jsonb,
     hostname text,
     last_seen_at timestamptz NOT NULL DEFAULT now(),
     connected_node text
   )`,
  `CREATE INDEX agents_token ON agents (token_id)`,

  // The event log. The raw body lives in the row so a delivery left 'received' by a crash can be
  // resumed from the database alone; the gzipped blob copy is a convenience written afterwards.
  `CREATE TABLE deliveries (
     org_id text NOT NULL,
     delivery_id text NOT NULL,
     source_id text NOT NULL,
     source_kind text NOT NULL CHECK (source_kind IN ('git', 'generic', 'github')),
     event_type text NOT NULL,
     action text,
     status text NOT NULL CHECK (status IN ('received', 'processed', 'duplicate', 'filtered',
                                            'lockfile_missing', 'lockfile_corrupt', 'failed')),
     body bytea NOT NULL,
     headers jsonb NOT NULL DEFAULT '{}'::jsonb,
     payload_hash text NOT NULL,
     payload_size integer NOT NULL,
     matched_count integer NOT NULL DEFAULT 0,
     error text,
     trace jsonb,
     received_at timestamptz NOT NULL DEFAULT now(),
     processed_at timestamptz,
     PRIMARY KEY (org_id, delivery_id)
   )`,
  `CREATE INDEX deliveries_org_status_received ON deliveries (org_id, status, received_at)`,
  // Resume-on-start scans every org for 'received' rows; keep that scan small.
  `CREATE INDEX deliveries_received ON deliveries (received_at) WHERE status = 'received'`,

  // Dedup is its own table rather than the deliveries primary key: its window (24 h) is much
  // shorter than event-log retention, expired keys must be reusable and cheap to sweep, and its key
  // is source-scoped (`<sourceId>:<idempotency id>`) while deliveries are keyed per org.
  `CREATE TABLE dedup_keys (
     key text PRIMARY KEY,
     org_id text NOT NULL,
     delivery_id text NOT NULL,
     expires_at timestamptz NOT NULL
   )`,
  `CREATE INDEX dedup_keys_expiry ON dedup_keys (expires_at)`,

  `CREATE TABLE workflow_registrations (
     source_id text NOT NULL REFERENCES sources (id),
     workflow_name text NOT NULL,
     sha text NOT NULL,
     triggers jsonb NOT NULL,
     lockfile jsonb NOT NULL,
     registered_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (source_id, workflow_name)
   )`,

  `CREATE TABLE shards (
     shard integer PRIMARY KEY CHECK (shard >= 0 AND shard < 256),
     owner_node text NOT NULL,
     epoch integer NOT NULL CHECK (epoch >= 1)
   )`,

  `CREATE TABLE runs (
     id uuid PRIMARY KEY,
     org_id text NOT NULL,
     source_id text NOT NULL,
     delivery_id text,
     workflow_name text NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'running', 'success', 'failed', 'cancelled',
                                            'cancelling', 'held')),
     attempt integer NOT NULL DEFAULT 1,
     shard integer NOT NULL,
     owner_epoch integer NOT NULL,
     event jsonb NOT NULL,
     repo_url text,
     ref text,
     sha text,
     branch text,
     error text,
     timeout_ms integer CHECK (timeout_ms > 0),
     concurrency jsonb,
     created_at timestamptz NOT NULL DEFAULT now(),
     started_at timestamptz,
     finished_at timestamptz,
     parent_run_id uuid REFERENCES runs (id)
   )`,
  `CREATE INDEX runs_status ON runs (status)`,
  `CREATE INDEX runs_org_created ON runs (org_id, created_at)`,
  // Exactly once: a delivery resumed after a crash cannot start a workflow's first run twice.
  `CREATE UNIQUE INDEX runs_delivery_workflow ON runs (org_id, delivery_id, workflow_name)
     WHERE delivery_id IS NOT NULL AND parent_run_id IS NULL`,

  `CREATE TABLE jobs (
     id uuid PRIMARY KEY,
     run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     name text NOT NULL,
     base_name text NOT NULL,
     matrix jsonb,
     config jsonb NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'queued', 'running', 'recovering', 'cancelling',
                                            'success', 'failed', 'cancelled', 'skipped',
                                            'timed_out_stale', 'drift_dropped')),
     needs_satisfied boolean NOT NULL DEFAULT false,
     agent_id text,
     dispatch_attempts integer NOT NULL DEFAULT 0,
     dispatched_at timestamptz,
     ack_deadline timestamptz,
     acked_at timestamptz,
     recovery_deadline timestamptz,
     last_heartbeat_at timestamptz,
     outputs jsonb,
     error text,
     owner_epoch integer NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     started_at timestamptz,
     finished_at timestamptz,
     UNIQUE (run_id, name)
   )`,
  `CREATE INDEX jobs_run ON jobs (run_id)`,
  `CREATE INDEX jobs_live_status ON jobs (status)
     WHERE status IN ('pending', 'queued', 'running', 'recovering', 'cancelling')`,

  `CREATE TABLE job_needs (
     run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
     upstream_job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
     run_on jsonb NOT NULL DEFAULT '["success"]'::jsonb,
     PRIMARY KEY (job_id, upstream_job_id)
   )`,
  `CREATE INDEX job_needs_run ON job_needs (run_id)`,
  `CREATE INDEX job_needs_upstream ON job_needs (upstream_job_id)`,

  `CREATE TABLE steps (
     job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
     step_index integer NOT NULL,
     name text NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'running', 'success', 'failed', 'skipped',
                                            'cancelled')),
     exit_code integer,
     log_bytes integer NOT NULL DEFAULT 0,
     started_at timestamptz,
     finished_at timestamptz,
     PRIMARY KEY (job_id, step_index)
   )`,
];

const DOWN_TABLES = [
  'steps',
  'job_needs',
  'jobs',
  'runs',
  'shards',
  'workflow_registrations',
  'dedup_keys',
  'deliveries',
  'agents',
  'agent_tokens',
  'admin_tokens',
  'sealed_secrets',
  'sources',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of DOWN_TABLES) await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(db);
}
