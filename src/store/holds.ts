/**
 * Holds (migrations 011 and 014): a job an environment's gate stopped for people to decide on
 * (`held_runs`, one per job and gate) and the reviewers' votes on it (`held_run_approvals`, one
 * per reviewer).
 *
 * Every write to a hold rides with its job's write, in one transaction that begins with the job's
 * fenced update (fence.ts): a deposed owner can no more hold or decide a job than move it, and a
 * hold and its job's status never disagree. A write refused anywhere along the way (the job's
 * status guard, a hold no longer pending, a reviewer voting twice) rolls back whole and reports
 * `false`, as the run domain's other writes do; the fence refuses by throwing FencedWriteError.
 *
 * Holds speak the environments room's records (`Hold`, times in epoch ms): the run actor decides
 * them with that room's `castVote`, and the store stores what it decided.
 */
import { sql, type Selectable, type Transaction } from 'kysely';
import type { Hold, HoldGate, HoldStatus, HoldVote, NewHold } from '../environments/index.js';
import { AuditRepository } from './audit.js';
import type { Db } from './database.js';
import type { StatusGuard } from './guards.js';
import { type JobChanges, JobRepository } from './jobs.js';
import type { HeldRunApprovalsTable, HeldRunsTable, JobStatus, StoreSchema } from './schema.js';
import { jsonb } from './sql-values.js';

/** A step in a hold's life (the run domain's `HoldChange`): a vote, an expiry, a cancellation. */
export interface HeldRunChange {
  holdId: string;
  /** The hold's status after the change; `pending` records a vote and leaves it open. */
  status: HoldStatus;
  vote?: HoldVote;
  /** ms: `decided_at` when the status is not `pending`. */
  at: number;
}

/** A pending hold past its expiry, for the coordinator's expiry duty. */
export interface OverdueHold {
  runId: string;
  jobId: string;
  holdId: string;
}

/** Pending holds of an org's environment (null: the hold's environment was deleted, or it had none). */
export interface PendingHolds {
  orgId: string;
  environment: string | null;
  pending: number;
}

/** The id column is a uuid: anything else names no hold (and must not reach PostgreSQL as one). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Thrown inside a hold's transaction to roll it back; the method then returns false. */
class Refused extends Error {}

export class HoldRepository {
  constructor(private readonly db: Db) {}

  /**
   * Hold the job: its fenced update (guarded by `guard.expectedStatus`), then its hold, unless one is
   * on record for the job and gate already (that one stays as it was; the job's update still
   * commits). false, and nothing written, when the status guard did not hold.
   */
  hold(jobId: string, epoch: number, jobChanges: JobChanges, guard: StatusGuard<JobStatus>, hold: NewHold): Promise<boolean> {
    if (hold.jobId !== jobId) return Promise.reject(new Error(`a hold for job ${hold.jobId} cannot be written with job ${jobId}`));
    return atomically(this.db, async (trx) => {
      if (!(await new JobRepository(trx).update(jobId, epoch, jobChanges, guard))) return false;
      await trx
        .insertInto('held_runs')
        .values({
          org_id: hold.orgId,
          run_id: hold.runId,
          job_id: jobId,
          environment_id: hold.environmentId,
          gate: hold.gate,
          required_reviewers: jsonb(hold.reviewers),
          status: 'pending',
          expires_at: new Date(hold.expiresAt),
          created_at: new Date(hold.createdAt),
          reason: hold.reason,
        })
        .onConflict((oc) => oc.columns(['run_id', 'job_id', 'gate']).doNothing())
        .execute();
      return true;
    });
  }

  /**
   * The job's fenced update with a step in its hold's life: the vote's row and its audit event,
   * then (for a status other than `pending`) the hold closed at `change.at`, decided by the vote's
   * reviewer or by nobody. false, and nothing written, when the job's status guard did not hold,
   * the hold is not a pending hold of this job, or the reviewer voted on it already.
   */
  change(jobId: string, epoch: number, jobChanges: JobChanges, guard: StatusGuard<JobStatus>, change: HeldRunChange): Promise<boolean> {
    if (!UUID.test(change.holdId)) return Promise.resolve(false);
    return atomically(this.db, async (trx) => {
      if (!(await new JobRepository(trx).update(jobId, epoch, jobChanges, guard))) return false;
      const hold = await pendingHoldOfJob(trx, change.holdId, jobId);
      if (!hold) return false;
      if (change.vote && !(await recordVote(trx, hold, change.vote))) return false;
      if (change.status !== 'pending') await closeHold(trx, change);
      return true;
    });
  }

  /** Every hold of the run, whatever its status, oldest first, each with its votes oldest first. */
  async ofRun(runId: string): Promise<Hold[]> {
    const holds = await this.db.selectFrom('held_runs').selectAll().where('run_id', '=', runId).orderBy('created_at').orderBy('id').execute();
    if (holds.length === 0) return [];
    const votes = await this.db
      .selectFrom('held_run_approvals')
      .selectAll()
      .where('held_run_id', 'in', holds.map((h) => h.id))
      .orderBy('at')
      .orderBy('id')
      .execute();
    return holds.map((h) => toHold(h, votes.filter((v) => v.held_run_id === h.id)));
  }

  /** Pending holds whose expiry is at or before `now`, earliest expiry first, at most `limit`. */
  async overdue(now: Date, limit: number): Promise<OverdueHold[]> {
    const rows = await this.db
      .selectFrom('held_runs')
      .select(['id', 'run_id', 'job_id'])
      .where('status', '=', 'pending')
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ runId: r.run_id, jobId: r.job_id, holdId: r.id }));
  }

  /**
   * Pending holds per org and environment name, for the pending-holds gauge (seed 000's "pending
   * holds per environment", kept by org, and with the holds whose environment is gone under null).
   */
  async pendingByEnvironment(): Promise<PendingHolds[]> {
    const rows = await this.db
      .selectFrom('held_runs as hr')
      .leftJoin('environments as e', 'e.id', 'hr.environment_id')
      .select((eb) => ['hr.org_id', 'e.name', eb.fn.countAll<string | number>().as('pending')])
      .where('hr.status', '=', 'pending')
      .groupBy(['hr.org_id', 'e.name'])
      .orderBy('hr.org_id')
      .orderBy('e.name')
      .execute();
    return rows.map((r) => ({ orgId: r.org_id, environment: r.name, pending: Number(r.pending) }));
  }
}

/**
 * Run `work` as one unit: when it returns false, nothing it wrote stays. Alone in a transaction
 * of its own; joined to a caller's, behind a savepoint, so a refusal takes back only this write.
 */
async function atomically(db: Db, work: (trx: Transaction<StoreSchema>) => Promise<boolean>): Promise<boolean> {
  if (db.isTransaction) return behindSavepoint(db as Transaction<StoreSchema>, work);
  try {
    return await db.transaction().execute(async (trx) => {
      if (!(await work(trx))) throw new Refused();
      return true;
    });
  } catch (e) {
    if (e instanceof Refused) return false;
    throw e;
  }
}

async function behindSavepoint(trx: Transaction<StoreSchema>, work: (trx: Transaction<StoreSchema>) => Promise<boolean>): Promise<boolean> {
  await sql`savepoint held_run_write`.execute(trx);
  let done = false;
  try {
    done = await work(trx);
  } finally {
    // A failed statement leaves the transaction aborted until it rolls back to the savepoint.
    await sql.raw(done ? 'release savepoint held_run_write' : 'rollback to savepoint held_run_write').execute(trx);
  }
  return done;
}

interface LockedHold {
  id: string;
  orgId: string;
  runId: string;
  jobId: string;
  gate: HoldGate;
  jobName: string;
}

/**
 * The hold, locked until the change commits, when it is a pending hold of `jobId`: a concurrent
 * change to it waits here, then finds it closed (or its reviewer's vote there).
 */
async function pendingHoldOfJob(trx: Transaction<StoreSchema>, holdId: string, jobId: string): Promise<LockedHold | undefined> {
  const row = await trx
    .selectFrom('held_runs as hr')
    .innerJoin('jobs as j', 'j.id', 'hr.job_id')
    .select(['hr.id', 'hr.org_id', 'hr.run_id', 'hr.job_id', 'hr.gate', 'hr.status', 'j.name'])
    .where('hr.id', '=', holdId)
    .forUpdate('hr')
    .executeTakeFirst();
  if (!row || row.status !== 'pending' || row.job_id !== jobId) return undefined;
  return { id: row.id, orgId: row.org_id, runId: row.run_id, jobId: row.job_id, gate: row.gate, jobName: row.name };
}

/**
 * The vote's row and its audit event; false when the reviewer voted on the hold already. ON
 * CONFLICT rather than catching the unique violation: an error would abort the transaction.
 */
async function recordVote(trx: Transaction<StoreSchema>, hold: LockedHold, vote: HoldVote): Promise<boolean> {
  const at = new Date(vote.at);
  const inserted = await trx
    .insertInto('held_run_approvals')
    .values({ held_run_id: hold.id, reviewer: vote.reviewer, decision: vote.verdict, reason: vote.reason, at })
    .onConflict((oc) => oc.constraint('held_run_approvals_once').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return false;
  await new AuditRepository(trx).record(
    {
      actor: { name: vote.reviewer, tokenId: vote.tokenId ?? null },
      action: vote.verdict === 'approve' ? 'held_run.approve' : 'held_run.reject',
      subject: { id: hold.id, name: hold.jobName },
      details: { runId: hold.runId, jobId: hold.jobId, gate: hold.gate, reason: vote.reason },
      orgId: hold.orgId,
    },
    at,
  );
  return true;
}

/** Close the (locked, pending) hold. `reason` stays why the job was held; the vote's reason is on its own row. */
async function closeHold(trx: Transaction<StoreSchema>, change: HeldRunChange): Promise<void> {
  await trx
    .updateTable('held_runs')
    .set({ status: change.status, decided_at: new Date(change.at), decided_by: change.vote?.reviewer ?? null })
    .where('id', '=', change.holdId)
    .where('status', '=', 'pending')
    .execute();
}

function toHold(row: Selectable<HeldRunsTable>, votes: Selectable<HeldRunApprovalsTable>[]): Hold {
  return {
    id: row.id,
    orgId: row.org_id,
    runId: row.run_id,
    jobId: row.job_id,
    environmentId: row.environment_id,
    gate: row.gate,
    reviewers: [...row.required_reviewers],
    reason: row.reason ?? '',
    expiresAt: row.expires_at.getTime(),
    status: row.status,
    createdAt: row.created_at.getTime(),
    decidedAt: row.decided_at ? row.decided_at.getTime() : null,
    decidedBy: row.decided_by,
    votes: votes.map(toVote),
  };
}

function toVote(row: Selectable<HeldRunApprovalsTable>): HoldVote {
  return { reviewer: row.reviewer, verdict: row.decision, reason: row.reason, at: row.at.getTime() };
}
