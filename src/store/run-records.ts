/**
 * Row ↔ record mapping for runs, jobs, needs edges and steps.
 */
import type { Selectable } from 'kysely';
import type { JobNeedsTable, JobsTable, JobStatus, RunConcurrency, RunsTable, RunStatus, StepsTable, StepStatus } from './schema.js';

export interface RunRecord {
  id: string;
  orgId: string;
  sourceId: string;
  deliveryId: string | null;
  workflowName: string;
  status: RunStatus;
  attempt: number;
  shard: number;
  ownerEpoch: number;
  event: unknown;
  repoUrl: string | null;
  ref: string | null;
  sha: string | null;
  branch: string | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  parentRunId: string | null;
  timeoutMs: number | null;
  /** The workflow's `concurrency` at the run's commit, defaults applied (null: none). */
  concurrency: RunConcurrency | null;
  /** `runs.environment` (migration 011); present only once a gate set it. */
  environment?: string;
  /** When retention deleted the run's step logs (migration 020); present only once it has. */
  logsRemovedAt?: Date;
}

export interface JobRecord {
  id: string;
  runId: string;
  name: string;
  baseName: string;
  matrix: Record<string, unknown> | null;
  config: unknown;
  status: JobStatus;
  needsSatisfied: boolean;
  agentId: string | null;
  previousAgentId: string | null;
  dispatchAttempts: number;
  dispatchedAt: Date | null;
  ackDeadline: Date | null;
  ackedAt: Date | null;
  recoveryDeadline: Date | null;
  lastHeartbeatAt: Date | null;
  outputs: Record<string, unknown> | null;
  error: string | null;
  ownerEpoch: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** `jobs.environment_gate` (migration 013): the run domain's JobGate; present only for gated jobs. */
  environmentGate?: unknown;
}

export interface JobNeed {
  runId: string;
  jobId: string;
  upstreamJobId: string;
  /** Upstream statuses that let the downstream job run (default `["success"]`). */
  runOn: JobStatus[];
}

export interface StepRecord {
  jobId: string;
  stepIndex: number;
  name: string;
  status: StepStatus;
  exitCode: number | null;
  /** Set when the step ended with its job rather than by its agent's report. */
  error: string | null;
  logBytes: number;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export function toRun(row: Selectable<RunsTable>): RunRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    sourceId: row.source_id,
    deliveryId: row.delivery_id,
    workflowName: row.workflow_name,
    status: row.status,
    attempt: row.attempt,
    shard: row.shard,
    ownerEpoch: row.owner_epoch,
    event: row.event,
    repoUrl: row.repo_url,
    ref: row.ref,
    sha: row.sha,
    branch: row.branch,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    parentRunId: row.parent_run_id,
    timeoutMs: row.timeout_ms,
    concurrency: row.concurrency ?? null,
    ...(row.environment != null && { environment: row.environment }),
    ...(row.logs_removed_at != null && { logsRemovedAt: row.logs_removed_at }),
  };
}

export function toJob(row: Selectable<JobsTable>): JobRecord {
  return {
    id: row.id,
    runId: row.run_id,
    name: row.name,
    baseName: row.base_name,
    matrix: row.matrix ?? null,
    config: row.config,
    status: row.status,
    needsSatisfied: row.needs_satisfied,
    agentId: row.agent_id,
    previousAgentId: row.previous_agent_id,
    dispatchAttempts: row.dispatch_attempts,
    dispatchedAt: row.dispatched_at,
    ackDeadline: row.ack_deadline,
    ackedAt: row.acked_at,
    recoveryDeadline: row.recovery_deadline,
    lastHeartbeatAt: row.last_heartbeat_at,
    outputs: row.outputs ?? null,
    error: row.error,
    ownerEpoch: row.owner_epoch,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    ...(row.environment_gate != null && { environmentGate: row.environment_gate }),
  };
}

export function toNeed(row: Selectable<JobNeedsTable>): JobNeed {
  return { runId: row.run_id, jobId: row.job_id, upstreamJobId: row.upstream_job_id, runOn: row.run_on };
}

export function toStep(row: Selectable<StepsTable>): StepRecord {
  return {
    jobId: row.job_id,
    stepIndex: row.step_index,
    name: row.name,
    status: row.status,
    exitCode: row.exit_code,
    error: row.error,
    logBytes: row.log_bytes,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
