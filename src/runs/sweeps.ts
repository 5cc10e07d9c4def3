import type { ActorSystem } from '../actors/index.js';
import type { Clock } from '../clock/index.js';
import { runRef } from './run-actor.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Holds looked at per expiry scan: the rest wait for the next one. */
const HOLDS_PER_SCAN = 500;

/**
 * Port: the jobs a sweep must look at, as the store sees them. Times are epoch milliseconds; the
 * store's RunStore implementation (`RepositoryRunStore`) converts them.
 */
export interface OverdueJobs {
  /** Running jobs with no heartbeat since `heartbeatBefore`, created after `createdAfter`. */
  staleRunning(heartbeatBefore: number, createdAfter: number): Promise<{ runId: string; jobId: string }[]>;
  /** Jobs whose recovery window closed before `now`. */
  overdueRecoveries(now: number): Promise<{ runId: string; jobId: string }[]>;
  /** Dispatched jobs whose ack deadline passed before `now`. */
  overdueAcks(now: number): Promise<{ runId: string; jobId: string; dispatchAttempts: number }[]>;
  /** Pending holds whose `expiresAt` is at or before `now`, earliest expiry first, at most `limit`. Optional: a store without holds has none. */
  overdueHolds?(now: number, limit: number): Promise<{ runId: string; jobId: string; holdId: string }[]>;
}

/** The shape of a coordinator duty (the cluster room's `Duty`), so this room needs no cluster import. */
export interface RunSweep {
  name: string;
  everyMs: number;
  run(): Promise<void>;
}

/**
 * Coordinator duties over the store: safety nets behind the RunActors' own timers (which live in
 * memory and are re-armed when a run's actor activates). The duties only tell the owning RunActor;
 * the actor decides, through its state machine, whether anything changes.
 */
export function runSweeps(
  jobs: OverdueJobs,
  system: ActorSystem,
  opts: { staleThresholdMs: number; staleScanIntervalMs: number; holdExpiryScanMs?: number; clock: Pick<Clock, 'now'> },
): RunSweep[] {
  const sweeps: RunSweep[] = [
    {
      name: 'stale-jobs',
      everyMs: opts.staleScanIntervalMs,
      async run() {
        const now = opts.clock.now();
        // Only the last day: an older running job is long past every other net and not worth a scan.
        for (const job of await jobs.staleRunning(now - opts.staleThresholdMs, now - DAY_MS)) runRef(system, job.runId).tell({ type: 'stale', jobId: job.jobId });
      },
    },
    {
      name: 'overdue-recoveries-and-acks',
      everyMs: 10_000,
      async run() {
        const now = opts.clock.now();
        for (const job of await jobs.overdueRecoveries(now)) runRef(system, job.runId).tell({ type: 'recovery_expired', jobId: job.jobId });
        for (const job of await jobs.overdueAcks(now)) runRef(system, job.runId).tell({ type: 'ack_timeout', jobId: job.jobId, attempt: job.dispatchAttempts });
      },
    },
  ];
  const overdueHolds = jobs.overdueHolds?.bind(jobs);
  // Holds past their expiry: the run's actor expires each (once: only a pending hold can expire).
  if (overdueHolds) {
    sweeps.push({
      name: 'hold-expiry',
      everyMs: opts.holdExpiryScanMs ?? 10_000,
      async run() {
        for (const hold of await overdueHolds(opts.clock.now(), HOLDS_PER_SCAN)) {
          runRef(system, hold.runId).tell({ type: 'hold_expired', jobId: hold.jobId, holdId: hold.holdId });
        }
      },
    });
  }
  return sweeps;
}
