/**
 * The ports the run domain is written against. The store room implements RunStore over PostgreSQL
 * or PGlite; the agents room implements Dispatcher. Times are epoch milliseconds from the injected
 * Clock; the store converts them to timestamps.
 */
import type { Hold, HoldGate, HoldStatus, HoldVote, NewHold } from '../environments/index.js';
import type { NeedsFile } from '../workflows/index.js';
import type { JobGate } from './gate-ports.js';
import type { NeedsEdge } from './needs-scheduler.js';
import type { JobStatus, RunStatus, StepStatus } from './statuses.js';
import type { UnansweredDispatch } from '../vocabulary/index.js';

export type Outputs = Record<string, string>;

export interface RunRecord {
  id: string;
  status: RunStatus;
  /** 1 for the first run of a commit, counted up by reruns (`KICI_ATTEMPT`). */
  attempt: number;
  workflowName: string;
  /**
   * The epoch of the run's shard as the store's fence holds it: the one epoch whose writes to this
   * run (its jobs and steps included) go through. Absent when the shard has no fence row, so no
   * write goes through. Lets the actor tell "not the owner" from "a guard did not hold" when a
   * write is refused.
   */
  ownerEpoch?: number;
  error?: string | null;
  startedAt?: number | null;
  /** The workflow's `timeout` (ms for the whole run); past it the run is cancelled with `workflow_timeout`. */
  timeoutMs?: number | null;
  orgId?: string;
  sourceId?: string | null;
  repoUrl?: string | null;
  ref?: string | null;
  sha?: string | null;
  branch?: string | null;
  /** The normalised event that started the run, passed through to the dispatch untouched. */
  event?: unknown;
  /** The workflow's concurrency group, when it has one (its group is told when the run ends). */
  concurrency?: { group: string; cancelInProgress: boolean; max: number } | null;
  /** `runs.environment`: the first environment concurrency group a job of the run asked for (null: none yet). */
  environment?: string | null;
}

export interface JobRecord {
  id: string;
  runId: string;
  /** Concrete name, e.g. `test (20, 1)` for a matrix child. */
  name: string;
  /** The lock-file job name, e.g. `test`; downstream jobs see outputs under it. */
  baseName: string;
  matrix?: Record<string, string> | null;
  /** The lock-file job object, handed to the agent as is. */
  config: unknown;
  status: JobStatus;
  needsSatisfied: boolean;
  agentId?: string | null;
  /** The agent of the dispatch before the current one: its copy may be adopted if it comes back. */
  previousAgentId?: string | null;
  /** Dispatches made so far; rejects, ack timeouts and lost agents share a budget of 5. */
  dispatchAttempts: number;
  dispatchedAt?: number | null;
  ackDeadline?: number | null;
  ackedAt?: number | null;
  recoveryDeadline?: number | null;
  lastHeartbeatAt?: number | null;
  startedAt?: number | null;
  finishedAt?: number | null;
  outputs?: Outputs | null;
  error?: string | null;
  /** Where a job naming environments stands at their gates (null: it names none, or was not gated yet). */
  gate?: JobGate | null;
}

export interface StepRecord {
  jobId: string;
  stepIndex: number;
  name: string;
  status: StepStatus;
  exitCode?: number | null;
  /** Why the step ended with its job instead of by its agent's report. */
  error?: string | null;
  startedAt?: number | null;
  finishedAt?: number | null;
}

export interface LoadedRun {
  run: RunRecord;
  /** In plan order (the order of the lock file, matrix children in name order). */
  jobs: JobRecord[];
  edges: NeedsEdge[];
  steps: StepRecord[];
}

/**
 * A partial job update. `dispatchAttempts` is only ever written as the stored value plus one (under
 * a status guard), so a store that increments in SQL may translate it to "add one".
 */
export type JobPatch = Partial<Omit<JobRecord, 'id' | 'runId' | 'name' | 'baseName' | 'matrix' | 'config'>>;
export type StepPatch = Partial<Pick<StepRecord, 'status' | 'exitCode' | 'error' | 'startedAt' | 'finishedAt'>>;

/** A step in a hold's life, written with the job's patch in one transaction (`RunStore.changeHold`). */
export interface HoldChange {
  holdId: string;
  /** The hold's status after the change: `pending` records a vote and leaves the hold open. */
  status: HoldStatus;
  /** A reviewer's vote; none when the hold expires or is cancelled with its job. */
  vote?: HoldVote;
  /** ms: when the hold closed (`decided_at`), for a status other than `pending`. */
  at: number;
}

/**
 * Every write carries the writer's shard epoch. The store applies a write only while the run's
 * shard is at exactly that epoch (per-shard fencing): once a node that gained the shard has
 * raised it, every write of the old owner for any run of the shard is refused, and a write at an
 * epoch the shard has not been raised to yet is refused too.
 */
export interface WriteFence {
  epoch: number;
}

export interface JobWriteGuard extends WriteFence {
  /** Optimistic guard: write only while the stored status is still this one. */
  expectStatus?: JobStatus;
}

/**
 * Writes return false when the store refused them and wrote nothing: the run's shard is not at the
 * writer's epoch (fenced), or a guard did not hold. (A store that throws on fencing should return
 * false instead; the actor tells the two apart by reloading: `ownerEpoch` other than its own
 * epoch means fenced, else the statuses say whether a guard moved.)
 */
export interface RunStore {
  /**
   * `epoch`: the one the actor acts on the run's shard with. A store may answer a run it has just
   * created at that epoch from what it wrote, without reading it back.
   */
  loadRun(runId: string, epoch?: number): Promise<LoadedRun | undefined>;
  /** pending → running with `startedAt`; false when fenced or the run is not pending. */
  markRunStarted(runId: string, at: number, fence: WriteFence): Promise<boolean>;
  /** pending/running → cancelling; false when fenced or the run is in any other status (held, cancelling, terminal). */
  markRunCancelling(runId: string, fence: WriteFence): Promise<boolean>;
  /** false when fenced or the guard did not hold. */
  updateJob(jobId: string, patch: JobPatch, guard: JobWriteGuard): Promise<boolean>;
  updateStep(jobId: string, stepIndex: number, patch: StepPatch, fence: WriteFence): Promise<boolean>;
  /**
   * `runs.environment`, fenced like every run write; false when fenced. Optional: a store without
   * it keeps no environment on the run (the gates do not depend on it).
   */
  markRunEnvironment?(runId: string, environment: string, fence: WriteFence): Promise<boolean>;
  /**
   * Hold a job: its `held_runs` row (`pending`) and the job's patch, in one transaction fenced like
   * every job write. A hold already on record for the job and gate is kept as it is (the patch is
   * still written). false when fenced or the job's status guard did not hold; nothing is written then.
   * Optional, with the two below: a store without holds fails held jobs instead.
   */
  holdJob?(jobId: string, hold: NewHold, patch: JobPatch, guard: JobWriteGuard): Promise<boolean>;
  /** The run's holds, whatever their status, oldest first, each with its votes oldest first. */
  holdsOfRun?(runId: string): Promise<Hold[]>;
  /**
   * A vote, an expiry or a cancellation, with the job's patch, in one transaction: the vote's row,
   * the hold's status (a status other than `pending` stamps `decided_at` with `at`, and
   * `decided_by` with the vote's reviewer, or null without a vote), the job. false, and nothing
   * written, when fenced, when the job's status guard does not hold, when the hold is not pending,
   * or when the reviewer voted on it already.
   */
  changeHold?(jobId: string, change: HoldChange, patch: JobPatch, guard: JobWriteGuard): Promise<boolean>;
  /** Sets the terminal status, error and `finishedAt` only if the run is not terminal yet. */
  completeRun(
    runId: string,
    status: 'success' | 'failed' | 'cancelled',
    error: string | null,
    at: number,
    fence: WriteFence,
  ): Promise<boolean>;
}

/** A label requirement: a string must equal one of the agent's labels; a regex must match one. */
export type LabelMatcher = string | { regex: string; flags?: string };

/** `KICI_NEEDS_FILE` content: each direct upstream by its lock-file name (shape owned by the workflows room). */
export type { NeedsFile, NeedsFileJob as NeedsEntry } from '../workflows/index.js';

export interface JobDispatchRequest {
  run: RunRecord;
  runId: string;
  jobId: string;
  jobName: string;
  baseName: string;
  /** The run's shard epoch: the agent refuses a dispatch older than one it has seen for this run. */
  epoch: number;
  labels: LabelMatcher[];
  /** Dispatch attempt, 1..5. The same (jobId, attempt) may be sent again after a restart: treat it as one request. */
  attempt: number;
  config: unknown;
  matrix: Record<string, string> | null;
  needs: NeedsFile;
  /** Agents that rejected or ignored this job before; prefer others. */
  avoidAgents: string[];
  /** Its environments' variables and its steps' secrets (job-inputs.ts), resolved for this dispatch. */
  env?: Record<string, string>;
  secrets?: Record<string, string>;
}

export type DispatchResult = { status: 'assigned'; agentId: string } | { status: 'queued' };

export interface JobCancelRequest {
  runId: string;
  jobId: string;
  /** The agent holding the job; absent for a job still waiting in the dispatcher's queue. */
  agentId?: string;
  /** true: SIGKILL at once, no hooks; false: SIGTERM, grace period, then SIGKILL. */
  force: boolean;
  reason: string;
}

/**
 * Writes the agent a dispatch is about to go to into the job's record (null: no agent, the job
 * waits in a queue), fenced by the run's epoch. The dispatcher calls it before the frame leaves,
 * so a run whose owner dies after the frame left is never found with the job on no agent and sent
 * to a second one. It may be called more than once for one dispatch (an agent refused, the job
 * was queued after all); the last call is what the record says. Throws when the run may no longer
 * act (fenced); the dispatcher then gives the slot back and sends nothing.
 */
export type RecordPlacement = (agentId: string | null) => Promise<void>;

/**
 * Implemented by the agents room. Called from inside the RunActor's handler: it must never `ask` the
 * same RunActor (that would wait on its own mailbox); report back with `tell`.
 */
export interface Dispatcher {
  /**
   * Resolves once an agent is chosen (`assigned`: recorded through `record`, then the frame went
   * on its way; the run actor arms the ack deadline) or the job waits in the queue (`queued`). A
   * request sent again for an attempt already placed resolves `assigned` with the agent it went to,
   * without sending anything. A job placed later from the queue is recorded by asking the run
   * (`job_assigned`) before its frame leaves; then the agent reports `job_acked`, `job_rejected`,
   * or the ack deadline passes.
   */
  dispatch(request: JobDispatchRequest, record: RecordPlacement): Promise<DispatchResult>;
  cancel(request: JobCancelRequest): void | Promise<void>;
  /** Take back a job still waiting in the queue, without touching any agent's copy. Optional. */
  withdraw?(runId: string, jobId: string): void | Promise<void>;
  /**
   * The agent let a dispatch go unanswered: close it (4031) and stop choosing it, and say what was
   * found (see `UnansweredDispatch`; nothing said counts as `closed`). Optional.
   */
  ackTimedOut?(agentId: string, jobId: string): UnansweredDispatch | void | Promise<UnansweredDispatch | void>;
}

export type { UnansweredDispatch } from '../vocabulary/index.js';

/** Where a run stores the step log lines its agents send (the store room's step-log blobs). */
export interface StepLogSink {
  append(runId: string, jobId: string, stepIndex: number, text: string): Promise<unknown>;
}

/** A message about a job from an agent that does not hold it. */
export interface ForeignClaim {
  runId: string;
  jobId: string;
  agentId: string;
  /** The run message it arrived as, e.g. `step_status`. */
  message: string;
  reason: string;
}

/** What a gate did to a job, for metrics: `rejected` by a hard gate or a reviewer, or its hold `expired`. */
export type GateOutcome = { kind: 'rejected'; gate: 'enabled' | 'branch' | HoldGate } | { kind: 'expired'; gate: HoldGate };

/** Optional observer for metrics, log following and upstream forwarding. */
export interface RunObserver {
  /** An agent spoke about a job it does not hold; it was refused and told to stop the job. */
  foreignClaim?(claim: ForeignClaim): void;
  logsNotStored?(runId: string, jobId: string, error: unknown): void;
  /** A pending run started: its jobs and steps as they are (check runs are created queued from this). */
  runStarted?(run: RunRecord, jobs: readonly JobRecord[], steps: readonly StepRecord[]): void;
  /** A job's status changed; `steps` are the job's steps as they are now. */
  jobChanged?(run: RunRecord, job: JobRecord, steps: readonly StepRecord[]): void;
  /** A step's status changed (an agent's report, or its job ending it). */
  stepChanged?(run: RunRecord, job: JobRecord, step: StepRecord): void;
  /** The run ended; `jobs` as they ended. */
  runCompleted?(run: RunRecord, jobs: readonly JobRecord[]): void;
  /** A protection gate or a reviewer rejected a job, or its hold expired (the metrics count them by gate). */
  gateOutcome?(run: RunRecord, job: JobRecord, outcome: GateOutcome): void;
  /** The dispatcher threw; the run carries on (a dispatch is retried, a cancel is best effort). */
  dispatcherFailed?(run: RunRecord, job: JobRecord, error: unknown): void;
}
