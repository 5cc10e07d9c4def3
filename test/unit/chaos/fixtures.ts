/** Hand-built journals and database views for the checker's tests. */
import type { DatabaseView, DeliveryView, HeldJobView, HoldsView, HoldView, HoldVoteView, JobView, RunView, ShardView } from '../../../chaos/database-view.js';
import type { JournalEntry } from '../../../chaos/journal-reader.js';

export const T0 = new Date('2026-03-01T12:00:00Z');
const T0_MICROS = T0.getTime() * 1000;
/** Microseconds on the journal's clock, `seconds` after T0. */
export const at = (seconds: number): number => T0_MICROS + Math.round(seconds * 1_000_000);

export function delivery(deliveryId: string, extra: Partial<DeliveryView> = {}): DeliveryView {
  return { orgId: 'org', deliveryId, sourceId: 'src_app', status: 'processed', matchedCount: 1, receivedAt: T0, ...extra };
}

export function run(id: string, extra: Partial<RunView> = {}): RunView {
  return {
    id,
    orgId: 'org',
    deliveryId: null,
    workflowName: 'ci',
    status: 'success',
    attempt: 1,
    parentRunId: null,
    shard: 7,
    ownerEpoch: 1,
    createdAt: T0,
    finishedAt: T0,
    version: `${id}-v1`,
    ...extra,
  };
}

export function job(id: string, runId: string, extra: Partial<JobView> = {}): JobView {
  return {
    id,
    runId,
    name: id,
    status: 'success',
    agentId: 'agent-a',
    previousAgentId: null,
    dispatchAttempts: 1,
    ownerEpoch: 1,
    version: `${id}-v1`,
    ...extra,
  };
}

export function shard(n: number, epoch: number, ownerNode = 'node-a'): ShardView {
  return { shard: n, ownerNode, epoch };
}

export function view(parts: Partial<Omit<DatabaseView, 'takenAt'>> & { takenAt?: Date } = {}): DatabaseView {
  return { takenAt: T0, deliveries: [], runs: [], jobs: [], shards: [shard(7, 1)], ...parts };
}

interface Execution {
  execution: string;
  runId?: string;
  jobId?: string;
  jobName?: string;
  attempt?: number;
  agent: string;
  stepIndex?: number;
  stepTry?: number;
  start: number;
  /** Absent: killed, no end line. */
  end?: number;
}

/** The start and end lines of one step execution. */
export function executed(e: Execution): JournalEntry[] {
  const common = {
    execution: e.execution,
    runId: e.runId ?? 'run-1',
    jobId: e.jobId ?? 'job-1',
    jobName: e.jobName ?? 'build',
    attempt: e.attempt ?? 1,
    agent: e.agent,
    agentDir: `/work/${e.agent}`,
    stepIndex: e.stepIndex ?? 0,
    stepTry: e.stepTry ?? 1,
  };
  const start: JournalEntry = { ...common, event: 'start', atMicros: e.start };
  if (e.end === undefined) return [start];
  return [start, { ...common, event: 'end', atMicros: e.end, exitCode: 0 }];
}

/** A `release` hold of run `runId` for the reviewer `chaos-reviewer`, created at T0, expiring 3 s later. */
export function hold(id: string, runId: string, extra: Partial<HoldView> = {}): HoldView {
  return {
    id,
    orgId: 'chaos',
    runId,
    jobId: `${runId}-release`,
    jobName: 'release',
    deliveryId: null,
    environmentId: 'env-release',
    gate: 'reviewers',
    requiredReviewers: ['chaos-reviewer'],
    status: 'pending',
    expiresAt: new Date(T0.getTime() + 3000),
    createdAt: T0,
    decidedAt: null,
    decidedBy: null,
    reason: 'environment release requires review',
    ...extra,
  };
}

/** A counted vote on `holdId`, `seconds` after T0. */
export function vote(holdId: string, reviewer: string, decision: 'approve' | 'reject', seconds = 1): HoldVoteView {
  return { holdId, reviewer, decision, reason: null, at: new Date(T0.getTime() + seconds * 1000) };
}

/** The job a hold holds, as it ended. */
export function heldJob(runId: string, extra: Partial<HeldJobView> = {}): HeldJobView {
  return { id: `${runId}-release`, runId, name: 'release', status: 'success', error: null, runStatus: 'success', ...extra };
}

export function holdsView(parts: Partial<HoldsView> = {}): HoldsView {
  return { takenAt: new Date(T0.getTime() + 60_000), holds: [], votes: [], jobs: [], ...parts };
}
