/**
 * What the database says, as the checker needs it: deliveries, runs, jobs and the shard fence rows,
 * read in one REPEATABLE READ transaction so the four lists are one instant's state; and the holds
 * (`held_runs`, their votes, the jobs they hold) for invariant 5, read apart (`readHoldsView`) since
 * only the end state is judged.
 *
 * Plain SQL over `pg`, not the store's repositories: the checker must see every row at once (the
 * repositories page, and have no "all jobs"), plus each row's whole-row fingerprint (`version`) so
 * two views taken at different times tell which rows were written in between (fenced-writes.ts).
 * Reading tables directly also keeps the checker from trusting the code it checks.
 */
import pg from 'pg';
import { z } from 'zod';
import {
  DELIVERY_STATUSES,
  type DeliveryStatus,
  JOB_STATUSES,
  type JobStatus,
  RUN_STATUSES,
  type RunStatus,
} from '../src/vocabulary/index.js';

const deliveryRow = z.object({
  org_id: z.string(),
  delivery_id: z.string(),
  source_id: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  matched_count: z.number().int(),
  received_at: z.date(),
});

const runRow = z.object({
  id: z.string(),
  org_id: z.string(),
  delivery_id: z.string().nullable(),
  workflow_name: z.string(),
  status: z.enum(RUN_STATUSES),
  attempt: z.number().int(),
  parent_run_id: z.string().nullable(),
  shard: z.number().int(),
  owner_epoch: z.number().int(),
  created_at: z.date(),
  finished_at: z.date().nullable(),
  version: z.string(),
});

const jobRow = z.object({
  id: z.string(),
  run_id: z.string(),
  name: z.string(),
  status: z.enum(JOB_STATUSES),
  agent_id: z.string().nullable(),
  previous_agent_id: z.string().nullable(),
  dispatch_attempts: z.number().int(),
  owner_epoch: z.number().int(),
  version: z.string(),
});

const shardRow = z.object({ shard: z.number().int(), owner_node: z.string(), epoch: z.number().int() });

export interface DeliveryView {
  orgId: string;
  deliveryId: string;
  sourceId: string;
  status: DeliveryStatus;
  matchedCount: number;
  receivedAt: Date;
}

export interface RunView {
  id: string;
  orgId: string;
  deliveryId: string | null;
  workflowName: string;
  status: RunStatus;
  attempt: number;
  /** Set on a re-run: not one of the runs a delivery leads to. */
  parentRunId: string | null;
  shard: number;
  /** The epoch of the last write to this row (every fenced write stamps it). */
  ownerEpoch: number;
  createdAt: Date;
  finishedAt: Date | null;
  /** md5 of the whole row: differs between two views exactly when the row was written in between. */
  version: string;
}

export interface JobView {
  id: string;
  runId: string;
  name: string;
  status: JobStatus;
  agentId: string | null;
  previousAgentId: string | null;
  dispatchAttempts: number;
  ownerEpoch: number;
  version: string;
}

export interface ShardView {
  shard: number;
  ownerNode: string;
  epoch: number;
}

export interface DatabaseView {
  /** The database's clock when the view's transaction began. */
  takenAt: Date;
  deliveries: DeliveryView[];
  runs: RunView[];
  jobs: JobView[];
  shards: ShardView[];
}

const toDelivery = (r: z.infer<typeof deliveryRow>): DeliveryView => ({
  orgId: r.org_id,
  deliveryId: r.delivery_id,
  sourceId: r.source_id,
  status: r.status,
  matchedCount: r.matched_count,
  receivedAt: r.received_at,
});

const toRun = (r: z.infer<typeof runRow>): RunView => ({
  id: r.id,
  orgId: r.org_id,
  deliveryId: r.delivery_id,
  workflowName: r.workflow_name,
  status: r.status,
  attempt: r.attempt,
  parentRunId: r.parent_run_id,
  shard: r.shard,
  ownerEpoch: r.owner_epoch,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
  version: r.version,
});

const toJob = (r: z.infer<typeof jobRow>): JobView => ({
  id: r.id,
  runId: r.run_id,
  name: r.name,
  status: r.status,
  agentId: r.agent_id,
  previousAgentId: r.previous_agent_id,
  dispatchAttempts: r.dispatch_attempts,
  ownerEpoch: r.owner_epoch,
  version: r.version,
});

const toShard = (r: z.infer<typeof shardRow>): ShardView => ({ shard: r.shard, ownerNode: r.owner_node, epoch: r.epoch });

const QUERIES = {
  deliveries: `SELECT org_id, delivery_id, source_id, status, matched_count, received_at
                 FROM deliveries ORDER BY received_at, org_id, delivery_id`,
  runs: `SELECT id::text, org_id, delivery_id, workflow_name, status, attempt, parent_run_id::text, shard, owner_epoch,
                created_at, finished_at, md5(r::text) AS version
           FROM runs r ORDER BY created_at, id`,
  jobs: `SELECT id::text, run_id::text, name, status, agent_id, previous_agent_id, dispatch_attempts, owner_epoch,
                md5(j::text) AS version
           FROM jobs j ORDER BY run_id, plan_index, name`,
  shards: `SELECT shard, owner_node, epoch FROM shards ORDER BY shard`,
};

/** Read one view of the database at `databaseUrl`. */
export async function readDatabaseView(databaseUrl: string): Promise<DatabaseView> {
  const client = new pg.Client({ connectionString: databaseUrl });
  // A connection lost mid-read (PostgreSQL crashed on purpose) must reject this read, not end the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await readView(client);
  } finally {
    await client.end();
  }
}

/** One view through an open connection (the sampler keeps one for many views). */
export async function readView(client: pg.ClientBase): Promise<DatabaseView> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const now = await client.query<{ now: Date }>('SELECT now()');
    const rows = async <T>(sql: string, schema: z.ZodType<T>, table: string): Promise<T[]> =>
      (await client.query(sql)).rows.map((row, i) => {
        const parsed = schema.safeParse(row);
        if (!parsed.success) throw new Error(`${table} row ${i}: ${parsed.error.message}`);
        return parsed.data;
      });
    const view: DatabaseView = {
      takenAt: z.date().parse(now.rows[0]?.now),
      deliveries: (await rows(QUERIES.deliveries, deliveryRow, 'deliveries')).map(toDelivery),
      runs: (await rows(QUERIES.runs, runRow, 'runs')).map(toRun),
      jobs: (await rows(QUERIES.jobs, jobRow, 'jobs')).map(toJob),
      shards: (await rows(QUERIES.shards, shardRow, 'shards')).map(toShard),
    };
    await client.query('COMMIT');
    return view;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Holds (invariant 5): `held_runs` rows, their votes (`held_run_approvals`) and the jobs and runs
 * they hold, read as the tables keep them. Statuses are listed here, not imported from the code
 * under test: a status the checker does not know is a read error, never a row passed over.
 */
export const HOLD_ROW_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'cancelled'] as const;
export type HoldRowStatus = (typeof HOLD_ROW_STATUSES)[number];

const holdRow = z.object({
  id: z.string(),
  org_id: z.string(),
  run_id: z.string(),
  job_id: z.string(),
  job_name: z.string(),
  delivery_id: z.string().nullable(),
  environment_id: z.string().nullable(),
  gate: z.string(),
  required_reviewers: z.array(z.string()),
  status: z.enum(HOLD_ROW_STATUSES),
  expires_at: z.date(),
  created_at: z.date(),
  decided_at: z.date().nullable(),
  decided_by: z.string().nullable(),
  reason: z.string().nullable(),
});

const holdVoteRow = z.object({
  held_run_id: z.string(),
  reviewer: z.string(),
  decision: z.enum(['approve', 'reject']),
  reason: z.string().nullable(),
  at: z.date(),
});

const heldJobRow = z.object({
  id: z.string(),
  run_id: z.string(),
  name: z.string(),
  status: z.enum(JOB_STATUSES),
  error: z.string().nullable(),
  run_status: z.enum(RUN_STATUSES),
});

/** One `held_runs` row, with its job's name and its run's delivery. */
export interface HoldView {
  id: string;
  orgId: string;
  runId: string;
  jobId: string;
  jobName: string;
  /** The run's delivery (null for a run no delivery made). */
  deliveryId: string | null;
  environmentId: string | null;
  gate: string;
  requiredReviewers: string[];
  status: HoldRowStatus;
  expiresAt: Date;
  createdAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
  reason: string | null;
}

/** One counted vote (`held_run_approvals`). */
export interface HoldVoteView {
  holdId: string;
  reviewer: string;
  decision: 'approve' | 'reject';
  reason: string | null;
  at: Date;
}

/** A job some hold names, as it ended (or stands), with its run's status. */
export interface HeldJobView {
  id: string;
  runId: string;
  name: string;
  status: JobStatus;
  error: string | null;
  runStatus: RunStatus;
}

export interface HoldsView {
  takenAt: Date;
  holds: HoldView[];
  votes: HoldVoteView[];
  jobs: HeldJobView[];
}

const toHold = (r: z.infer<typeof holdRow>): HoldView => ({
  id: r.id,
  orgId: r.org_id,
  runId: r.run_id,
  jobId: r.job_id,
  jobName: r.job_name,
  deliveryId: r.delivery_id,
  environmentId: r.environment_id,
  gate: r.gate,
  requiredReviewers: r.required_reviewers,
  status: r.status,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
  decidedBy: r.decided_by,
  reason: r.reason,
});

const HOLD_QUERIES = {
  holds: `SELECT h.id::text, h.org_id, h.run_id::text, h.job_id::text, j.name AS job_name, r.delivery_id,
                 h.environment_id::text, h.gate, h.required_reviewers, h.status, h.expires_at, h.created_at,
                 h.decided_at, h.decided_by, h.reason
            FROM held_runs h JOIN jobs j ON j.id = h.job_id JOIN runs r ON r.id = h.run_id
           ORDER BY h.created_at, h.id`,
  votes: `SELECT held_run_id::text, reviewer, decision, reason, at FROM held_run_approvals ORDER BY at, held_run_id, reviewer`,
  jobs: `SELECT j.id::text, j.run_id::text, j.name, j.status, j.error, r.status AS run_status
           FROM jobs j JOIN runs r ON r.id = j.run_id
          WHERE j.id IN (SELECT job_id FROM held_runs)
          ORDER BY j.run_id, j.name`,
};

function parsedRows<T>(rows: unknown[], schema: z.ZodType<T>, table: string): T[] {
  return rows.map((row, i) => {
    const parsed = schema.safeParse(row);
    if (!parsed.success) throw new Error(`${table} row ${i}: ${parsed.error.message}`);
    return parsed.data;
  });
}

/** Every `held_runs` row, one query (the harness's reviewer polls it). */
export async function readHoldRows(client: pg.ClientBase): Promise<HoldView[]> {
  return parsedRows((await client.query(HOLD_QUERIES.holds)).rows, holdRow, 'held_runs').map(toHold);
}

/** Holds, votes and held jobs at one instant (REPEATABLE READ), through an open connection. */
export async function readHolds(client: pg.ClientBase): Promise<HoldsView> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const now = await client.query<{ now: Date }>('SELECT now()');
    const view: HoldsView = {
      takenAt: z.date().parse(now.rows[0]?.now),
      holds: await readHoldRows(client),
      votes: parsedRows((await client.query(HOLD_QUERIES.votes)).rows, holdVoteRow, 'held_run_approvals').map((r) => ({
        holdId: r.held_run_id,
        reviewer: r.reviewer,
        decision: r.decision,
        reason: r.reason,
        at: r.at,
      })),
      jobs: parsedRows((await client.query(HOLD_QUERIES.jobs)).rows, heldJobRow, 'jobs').map((r) => ({
        id: r.id,
        runId: r.run_id,
        name: r.name,
        status: r.status,
        error: r.error,
        runStatus: r.run_status,
      })),
    };
    await client.query('COMMIT');
    return view;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Read the holds of the database at `databaseUrl` (the checker's final view of them). */
export async function readHoldsView(databaseUrl: string): Promise<HoldsView> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await readHolds(client);
  } finally {
    await client.end();
  }
}
