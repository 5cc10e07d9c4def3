import type { ActorSystem } from '../actors/index.js';
import type { Duty } from '../cluster/index.js';
import { runRef } from '../runs/index.js';
import { listOverdueAcks, listOverdueRecoveries, listStaleRunningJobs, type Db } from '../store/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Coordinator duties over the store: safety nets behind the RunActors' own timers (which live in
 * memory and are re-armed when a run's actor activates). Each only tells the owning RunActor; the
 * actor decides, through its state machine, whether anything changes.
 */
export function runSweeps(db: Db, system: ActorSystem, opts: { staleThresholdMs: number; staleScanIntervalMs: number; now: () => number }): Duty[] {
  return [
    {
      name: 'stale-jobs',
      everyMs: opts.staleScanIntervalMs,
      async run() {
        const now = opts.now();
        const stale = await listStaleRunningJobs(db, new Date(now - opts.staleThresholdMs), { createdAfter: new Date(now - DAY_MS) });
        for (const job of stale) runRef(system, job.runId).tell({ type: 'stale', jobId: job.id });
      },
    },
    {
      name: 'overdue-recoveries-and-acks',
      everyMs: 10_000,
      async run() {
        const now = new Date(opts.now());
        for (const job of await listOverdueRecoveries(db, now)) runRef(system, job.runId).tell({ type: 'recovery_expired', jobId: job.id });
        for (const job of await listOverdueAcks(db, now)) runRef(system, job.runId).tell({ type: 'ack_timeout', jobId: job.id, attempt: job.dispatchAttempts });
      },
    },
  ];
}
