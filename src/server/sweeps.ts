import type { ActorSystem } from '../actors/index.js';
import type { Duty } from '../cluster/index.js';
import { runRef } from '../runs/index.js';
import type { Store } from '../store/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Expired dedup keys only cost space (an expired key is taken over on its next use), so a slow pace is enough. */
const DEDUP_SWEEP_MS = 5 * 60 * 1000;

/**
 * Coordinator duties over the store: safety nets behind the RunActors' own timers (which live in
 * memory and are re-armed when a run's actor activates), and housekeeping. The run duties only tell
 * the owning RunActor; the actor decides, through its state machine, whether anything changes.
 */
export function runSweeps(
  store: Pick<Store, 'jobs' | 'deliveries'>,
  system: ActorSystem,
  opts: { staleThresholdMs: number; staleScanIntervalMs: number; now: () => number },
): Duty[] {
  return [
    {
      name: 'stale-jobs',
      everyMs: opts.staleScanIntervalMs,
      async run() {
        const now = opts.now();
        const stale = await store.jobs.listStaleRunning(new Date(now - opts.staleThresholdMs), { createdAfter: new Date(now - DAY_MS) });
        for (const job of stale) runRef(system, job.runId).tell({ type: 'stale', jobId: job.id });
      },
    },
    {
      name: 'overdue-recoveries-and-acks',
      everyMs: 10_000,
      async run() {
        const now = new Date(opts.now());
        for (const job of await store.jobs.listOverdueRecoveries(now)) runRef(system, job.runId).tell({ type: 'recovery_expired', jobId: job.id });
        for (const job of await store.jobs.listOverdueAcks(now)) runRef(system, job.runId).tell({ type: 'ack_timeout', jobId: job.id, attempt: job.dispatchAttempts });
      },
    },
    {
      // Keys past their dedup window (24 h unless a delivery set its own) are deleted; without this
      // the table keeps one row per delivery ever received.
      name: 'dedup-keys',
      everyMs: DEDUP_SWEEP_MS,
      async run() {
        await store.deliveries.sweepDedupKeys(new Date(opts.now()));
      },
    },
  ];
}
