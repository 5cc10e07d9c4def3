/**
 * Table types for Kysely. Column types follow what both drivers (pg and PGlite) hand back:
 * timestamptz → Date, jsonb → parsed JSON, bytea → Buffer/Uint8Array (repositories normalise to Buffer).
 */
import type { ColumnType, Generated } from 'kysely';

/** A timestamptz column: read as Date, written as Date (or left to its default). */
type Timestamp = ColumnType<Date, Date | undefined, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;
/** jsonb columns are always written through the `jsonb()` helper (raw SQL), so the write type is opaque. */
type Json<T> = ColumnType<T, unknown, unknown>;
type NullableJson<T> = ColumnType<T | null, unknown, unknown>;

export type SourceKind = 'git' | 'generic' | 'github';
export type SourceVerification = 'hmac_sha256' | 'bearer_token' | 'none';

// The status vocabulary is the vocabulary room's; the columns below store it.
export {
  TERMINAL_JOB_STATUSES,
  TERMINAL_RUN_STATUSES,
  type DeliveryStatus,
  type JobStatus,
  type RunStatus,
  type StepStatus,
} from '../vocabulary/index.js';
import type { DeliveryStatus, JobStatus, RunStatus, StepStatus } from '../vocabulary/index.js';

export interface SourcesTable {
  id: string;
  org_id: string;
  kind: SourceKind;
  name: string;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  url: string | null;
  default_branch: string | null;
  verification: SourceVerification;
  config: Json<Record<string, unknown>>;
  /** GitHub sources only: the App id (migration 017), unique among live sources. */
  app_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export interface SealedSecretsTable {
  org_id: string;
  scope: string;
  key: string;
  ciphertext: Uint8Array;
  iv: Uint8Array;
  tag: Uint8Array;
  key_version: number;
  created_at: Timestamp;
}

export interface AdminTokensTable {
  id: string;
  name: string;
  token_hash: string;
  prefix: string;
  /** Migration 021: what the token may do. */
  role: Generated<AdminTokenRole>;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
}

/** `admin`: every route; `viewer`: reads, and votes on the holds that name it. */
export type AdminTokenRole = 'admin' | 'viewer';

/** Append-only history of what admins (and the orchestrator itself, `system`) did (migration 012). */
export interface AuditEventsTable {
  /** bigint identity, read back as a string by pg; the repository converts. */
  id: ColumnType<string | number, never, never>;
  at: Timestamp;
  actor: string;
  actor_token_id: string | null;
  action: string;
  subject_id: string;
  subject_name: string | null;
  details: Json<Record<string, unknown>>;
  org_id: string | null;
}

export interface AgentTokensTable {
  id: string;
  name: string;
  token_hash: string;
  prefix: string;
  labels: NullableJson<string[]>;
  /** The most slots an agent may declare with this token; null: the default cap. */
  max_concurrency: number | null;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
  expires_at: NullableTimestamp;
}

export interface AgentsTable {
  id: string;
  token_id: string;
  labels: Json<string[]>;
  hostname: string | null;
  last_seen_at: Timestamp;
  connected_node: string | null;
}

export interface DeliveriesTable {
  org_id: string;
  delivery_id: string;
  source_id: string;
  source_kind: SourceKind;
  event_type: string;
  action: string | null;
  status: DeliveryStatus;
  body: Uint8Array;
  headers: Json<Record<string, string>>;
  payload_hash: string;
  payload_size: number;
  matched_count: ColumnType<number, number | undefined, number>;
  error: string | null;
  trace: NullableJson<unknown>;
  received_at: Timestamp;
  processed_at: NullableTimestamp;
  /** `deliveryShard(delivery_id)`: whose owner resumes the delivery if it is left `received`. */
  shard: number;
  /** Tries that ended "not yet" (019); the next is not before `retry_after`. */
  attempts: ColumnType<number, number | undefined, number>;
  retry_after: NullableTimestamp;
  /** When retention dropped the body (020); `body` is empty from then on, hash and size stay. */
  payload_removed_at: NullableTimestamp;
}

export interface DedupKeysTable {
  key: string;
  org_id: string;
  delivery_id: string;
  expires_at: Date;
}

export interface WorkflowRegistrationsTable {
  source_id: string;
  workflow_name: string;
  sha: string;
  triggers: Json<unknown>;
  lockfile: Json<unknown>;
  registered_at: Timestamp;
}

/** The one row of `coordinator_term`: the highest term a leader claimed for its duties. */
export interface CoordinatorTermTable {
  singleton: Generated<boolean>;
  /** bigint, read back as a string by pg; the repository converts. */
  term: ColumnType<string | number, number, number>;
  node: string;
  claimed_at: Date;
}

export interface ShardsTable {
  shard: number;
  owner_node: string;
  epoch: number;
}

export interface RunsTable {
  id: string;
  org_id: string;
  source_id: string;
  delivery_id: string | null;
  workflow_name: string;
  status: RunStatus;
  attempt: number;
  shard: number;
  owner_epoch: number;
  event: Json<unknown>;
  repo_url: string | null;
  ref: string | null;
  sha: string | null;
  branch: string | null;
  error: string | null;
  created_at: Timestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  parent_run_id: string | null;
  /** The workflow's `timeout` (ms); past it the run is cancelled with reason `workflow_timeout`. */
  timeout_ms: number | null;
  /** The workflow's `concurrency` block as the run's lock file had it (null: none). */
  concurrency: NullableJson<RunConcurrency>;
  /** The environment concurrency group the run counts against (migration 011; null: none). */
  environment: Generated<string | null>;
  /** When retention deleted the run's step logs (migration 020; null: still kept). */
  logs_removed_at: NullableTimestamp;
}

/** A workflow's `concurrency` with its defaults applied. */
export interface RunConcurrency {
  group: string;
  cancelInProgress: boolean;
  max: number;
}

export interface JobsTable {
  id: string;
  run_id: string;
  name: string;
  base_name: string;
  matrix: NullableJson<Record<string, unknown>>;
  config: Json<unknown>;
  status: JobStatus;
  needs_satisfied: boolean;
  agent_id: string | null;
  previous_agent_id: string | null;
  /** Position in the run's plan; jobs load in this order. */
  plan_index: Generated<number>;
  dispatch_attempts: number;
  dispatched_at: NullableTimestamp;
  ack_deadline: NullableTimestamp;
  acked_at: NullableTimestamp;
  recovery_deadline: NullableTimestamp;
  last_heartbeat_at: NullableTimestamp;
  outputs: NullableJson<Record<string, unknown>>;
  error: string | null;
  owner_epoch: number;
  created_at: Timestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  /** Where the job stands at its environments' gates, with its group slots (migration 013; null: not gated). */
  environment_gate: NullableJson<unknown>;
}

export interface JobNeedsTable {
  run_id: string;
  job_id: string;
  upstream_job_id: string;
  run_on: Json<JobStatus[]>;
}

export interface StepsTable {
  job_id: string;
  step_index: number;
  name: string;
  status: StepStatus;
  exit_code: number | null;
  error: string | null;
  log_bytes: number;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
}

export interface RefTipsTable {
  source_id: string;
  ref: string;
  sha: string;
  updated_at: Timestamp;
}

export interface RefTipBaselinesTable {
  source_id: string;
  taken_at: Timestamp;
}

export interface RefPushesTable {
  source_id: string;
  ref: string;
  sha: string;
  delivery_id: string;
  claimed_at: Timestamp;
}

/** What a join token lets its node be, and what a node certificate names. */
export type ClusterRole = 'coordinator' | 'worker';

/** One row at most (`singleton` is always true). */
export interface ClusterIdentityTable {
  singleton: ColumnType<boolean, boolean | undefined, never>;
  cluster_id: string;
  ca_fingerprint: string;
  ca_certificate: string;
  created_by: string;
  created_at: Timestamp;
}

export interface JoinTokensTable {
  id: string;
  secret_hash: string;
  role: ClusterRole;
  ca_fingerprint: string;
  created_at: Timestamp;
  expires_at: Date;
  used_at: NullableTimestamp;
  used_by: string | null;
  revoked_at: NullableTimestamp;
}

export interface NodeCertificatesTable {
  serial: string;
  node_id: string;
  role: ClusterRole;
  join_token_id: string | null;
  issued_at: Timestamp;
  not_after: Date;
  revoked_at: NullableTimestamp;
}

export interface RevokedNodesTable {
  node_id: string;
  revoked_at: Timestamp;
  reason: string | null;
}

/** Object storage's `database` backend (migration 007). */
export interface BlobsTable {
  key: string;
  bytes: Uint8Array;
  updated_at: Timestamp;
}

/** One row per step log; `size` counts its bytes, the truncation notice included. */
export interface StepLogsTable {
  /**
   * A bigint identity the database writes and JS never reads: chunks reach their log through a
   * subquery, so the drivers' different forms of a bigint (string from pg) never matter.
   */
  id: ColumnType<never, never, never>;
  run_id: string;
  job_id: string;
  step_index: number;
  size: number;
}

/** The bytes of one append, starting at `start_offset` in its log. */
export interface StepLogChunksTable {
  log_id: ColumnType<never, never, never>;
  start_offset: number;
  bytes: Uint8Array;
}

/** Deployment environments (migration 011); ids default in the database (operators insert rows by hand). */
export interface EnvironmentsTable {
  id: ColumnType<string, string | undefined, never>;
  org_id: string;
  name: string;
  type: 'fixed' | 'glob';
  glob_pattern: string | null;
  enabled: boolean;
  branch_restrictions: Json<string[]>;
  trigger_type_filters: Json<string[]>;
  repo_patterns: Json<string[]>;
  minimum_trust: 'known' | 'trusted' | null;
  required_reviewers: Json<string[]>;
  wait_timer_seconds: number | null;
  concurrency_limit: number | null;
  concurrency_strategy: 'queue' | 'cancel-pending';
  hold_expiry_seconds: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EnvironmentVariablesTable {
  id: Generated<string>;
  org_id: string;
  environment_id: string;
  key: string;
  value: string;
  locked: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EnvironmentSourceOverridesTable {
  id: Generated<string>;
  org_id: string;
  environment_id: string;
  routing_key: string;
  key: string;
  value: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `held_runs.status`: the seed's four and kici's `cancelled` (migration 014). */
export type HoldStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled';

export interface HeldRunsTable {
  id: Generated<string>;
  org_id: string;
  run_id: string;
  job_id: string;
  environment_id: string | null;
  gate: 'trust' | 'reviewers';
  required_reviewers: Json<string[]>;
  status: ColumnType<HoldStatus, HoldStatus | undefined, HoldStatus>;
  expires_at: Date;
  created_at: Timestamp;
  decided_at: NullableTimestamp;
  decided_by: string | null;
  reason: string | null;
}

export interface HeldRunApprovalsTable {
  id: Generated<string>;
  held_run_id: string;
  reviewer: string;
  decision: 'approve' | 'reject';
  reason: string | null;
  at: Timestamp;
}

/** The web view's sign-in sessions (migration 022): only the hash of the cookie's secret is kept. */
export interface UiSessionsTable {
  secret_hash: string;
  token_id: string;
  csrf: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface StoreSchema {
  sources: SourcesTable;
  sealed_secrets: SealedSecretsTable;
  admin_tokens: AdminTokensTable;
  audit_events: AuditEventsTable;
  agent_tokens: AgentTokensTable;
  agents: AgentsTable;
  deliveries: DeliveriesTable;
  dedup_keys: DedupKeysTable;
  workflow_registrations: WorkflowRegistrationsTable;
  shards: ShardsTable;
  coordinator_term: CoordinatorTermTable;
  runs: RunsTable;
  jobs: JobsTable;
  job_needs: JobNeedsTable;
  steps: StepsTable;
  ref_tips: RefTipsTable;
  ref_tip_baselines: RefTipBaselinesTable;
  ref_pushes: RefPushesTable;
  cluster_identity: ClusterIdentityTable;
  join_tokens: JoinTokensTable;
  node_certificates: NodeCertificatesTable;
  revoked_nodes: RevokedNodesTable;
  blobs: BlobsTable;
  step_logs: StepLogsTable;
  step_log_chunks: StepLogChunksTable;
  environments: EnvironmentsTable;
  environment_variables: EnvironmentVariablesTable;
  environment_source_overrides: EnvironmentSourceOverridesTable;
  held_runs: HeldRunsTable;
  held_run_approvals: HeldRunApprovalsTable;
  ui_sessions: UiSessionsTable;
}

