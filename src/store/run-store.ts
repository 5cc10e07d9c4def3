import type { Hold, NewHold, StoredEnvGroup } from '../environments/index.js';
import {
  storedEnvGroup,
  type HoldChange,
  type JobGate,
  type JobPatch,
  type JobWriteGuard,
  type LoadedRun,
  type OverdueJobs,
  type RunStore,
  type StepPatch,
  type WriteFence,
} from '../runs/index.js';
import { FencedWriteError, NotFoundError } from './errors.js';
import type { StatusGuard } from './guards.js';
import type { JobChanges } from './jobs.js';
import type { JobStatus } from './schema.js';
import type { JobRecord } from './run-records.js';
import type { Store } from './store.js';

const ms = (d: Date | null) => (d ? d.getTime() : null);
const date = (n: number | null | undefined) => (n === undefined ? undefined : n === null ? null : new Date(n));

/**
 * The run domain's ports (RunStore, and the sweeps' OverdueJobs) over the repositories. The
 * repositories speak Date (timestamps columns) and the run domain epoch milliseconds (its injected
 * Clock): this class is the one place the two record shapes meet, so nothing else converts them by
 * hand (holds excepted: they are the environments room's `Hold` records, in ms, as the holds
 * repository keeps them). A write the shard fence refused (FencedWriteError) is reported as
 * `false`; the actor tells it from a guard that did not hold by reloading: `ownerEpoch` is then the
 * epoch of the run's shard row, which is not its own.
 */
export class RepositoryRunStore implements RunStore, OverdueJobs {
  constructor(private readonly store: Pick<Store, 'runs' | 'jobs' | 'steps' | 'holds'>) {}

  async loadRun(runId: string, epoch?: number): Promise<LoadedRun | undefined> {
    const snap = await this.store.runs.load(runId, { epoch });
    if (!snap) return undefined;
    const r = snap.run;
    return {
      run: {
        id: r.id,
        status: r.status,
        attempt: r.attempt,
        workflowName: r.workflowName,
        // The fence is the shard's row, not the run's: its epoch is the one whose writes go through
        // (absent when the shard has no row and none does).
        ...(snap.shardEpoch !== null && { ownerEpoch: snap.shardEpoch }),
        error: r.error,
        orgId: r.orgId,
        sourceId: r.sourceId,
        repoUrl: r.repoUrl,
        ref: r.ref,
        sha: r.sha,
        branch: r.branch,
        event: r.event,
        startedAt: ms(r.startedAt),
        timeoutMs: r.timeoutMs,
        concurrency: r.concurrency,
        environment: r.environment ?? null,
      },
      jobs: snap.jobs.map(toJob),
      edges: snap.needs.map((n) => ({ jobId: n.jobId, upstreamJobId: n.upstreamJobId, runOn: n.runOn })),
      steps: snap.steps.map((s) => ({
        jobId: s.jobId,
        stepIndex: s.stepIndex,
        name: s.name,
        status: s.status,
        exitCode: s.exitCode,
        error: s.error,
        startedAt: ms(s.startedAt),
        finishedAt: ms(s.finishedAt),
      })),
    };
  }

  markRunStarted(runId: string, at: number, fence: WriteFence): Promise<boolean> {
    return fenced(() => this.store.runs.write(runId, fence.epoch, { status: 'running', startedAt: new Date(at) }, { expectedStatus: 'pending' }));
  }

  markRunCancelling(runId: string, fence: WriteFence): Promise<boolean> {
    return fenced(() => this.store.runs.write(runId, fence.epoch, { status: 'cancelling' }, { expectedStatus: ['pending', 'running'] }));
  }

  updateJob(jobId: string, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
    return fenced(() => this.store.jobs.write(jobId, guard.epoch, jobChanges(patch), statusGuard(guard)));
  }

  holdJob(jobId: string, hold: NewHold, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
    return fenced(() => this.store.holds.hold(jobId, guard.epoch, jobChanges(patch), statusGuard(guard), hold));
  }

  holdsOfRun(runId: string): Promise<Hold[]> {
    return this.store.holds.ofRun(runId);
  }

  changeHold(jobId: string, change: HoldChange, patch: JobPatch, guard: JobWriteGuard): Promise<boolean> {
    return fenced(() => this.store.holds.change(jobId, guard.epoch, jobChanges(patch), statusGuard(guard), change));
  }

  updateStep(jobId: string, stepIndex: number, patch: StepPatch, fence: WriteFence): Promise<boolean> {
    return fenced(() =>
      this.store.steps.write(jobId, stepIndex, fence.epoch, {
        status: patch.status,
        exitCode: patch.exitCode,
        error: patch.error,
        startedAt: date(patch.startedAt),
        finishedAt: date(patch.finishedAt),
      }),
    );
  }

  markRunEnvironment(runId: string, environment: string, fence: WriteFence): Promise<boolean> {
    return fenced(() => this.store.runs.write(runId, fence.epoch, { environment }));
  }

  /** An EnvGroupActor's `load`: the slots unfinished jobs of the org hold or wait for in `group`. */
  async environmentSlots(orgId: string, group: string): Promise<StoredEnvGroup> {
    return storedEnvGroup(await this.store.jobs.environmentSlots(orgId, group));
  }

  completeRun(runId: string, status: 'success' | 'failed' | 'cancelled', error: string | null, at: number, fence: WriteFence): Promise<boolean> {
    return fenced(() =>
      this.store.runs.write(runId, fence.epoch, { status, error, finishedAt: new Date(at) }, { expectedStatus: ['pending', 'running', 'cancelling', 'held'] }),
    );
  }

  async staleRunning(heartbeatBefore: number, createdAfter: number): Promise<{ runId: string; jobId: string }[]> {
    const jobs = await this.store.jobs.listStaleRunning(new Date(heartbeatBefore), { createdAfter: new Date(createdAfter) });
    return jobs.map((j) => ({ runId: j.runId, jobId: j.id }));
  }

  async overdueRecoveries(now: number): Promise<{ runId: string; jobId: string }[]> {
    return (await this.store.jobs.listOverdueRecoveries(new Date(now))).map((j) => ({ runId: j.runId, jobId: j.id }));
  }

  async overdueAcks(now: number): Promise<{ runId: string; jobId: string; dispatchAttempts: number }[]> {
    return (await this.store.jobs.listOverdueAcks(new Date(now))).map((j) => ({ runId: j.runId, jobId: j.id, dispatchAttempts: j.dispatchAttempts }));
  }

  overdueHolds(now: number, limit: number): Promise<{ runId: string; jobId: string; holdId: string }[]> {
    return this.store.holds.overdue(new Date(now), limit);
  }
}

/** A job patch as the jobs repository takes it: times as Dates, and only the fields the patch sets. */
function jobChanges(patch: JobPatch): JobChanges {
  const changes: JobChanges = {
    status: patch.status,
    needsSatisfied: patch.needsSatisfied,
    agentId: patch.agentId,
    previousAgentId: patch.previousAgentId,
    dispatchedAt: date(patch.dispatchedAt),
    ackDeadline: date(patch.ackDeadline),
    ackedAt: date(patch.ackedAt),
    recoveryDeadline: date(patch.recoveryDeadline),
    lastHeartbeatAt: date(patch.lastHeartbeatAt),
    startedAt: date(patch.startedAt),
    finishedAt: date(patch.finishedAt),
    outputs: patch.outputs,
    error: patch.error,
    dispatchAttempts: patch.dispatchAttempts,
    environmentGate: patch.gate,
  };
  for (const k of Object.keys(changes) as (keyof JobChanges)[]) if (changes[k] === undefined) delete changes[k];
  return changes;
}

function statusGuard(guard: JobWriteGuard): StatusGuard<JobStatus> {
  return guard.expectStatus ? { expectedStatus: guard.expectStatus } : {};
}

function toJob(j: JobRecord) {
  return {
    id: j.id,
    runId: j.runId,
    name: j.name,
    baseName: j.baseName,
    matrix: j.matrix as Record<string, string> | null,
    config: j.config,
    status: j.status,
    needsSatisfied: j.needsSatisfied,
    agentId: j.agentId,
    previousAgentId: j.previousAgentId,
    dispatchAttempts: j.dispatchAttempts,
    dispatchedAt: ms(j.dispatchedAt),
    ackDeadline: ms(j.ackDeadline),
    ackedAt: ms(j.ackedAt),
    recoveryDeadline: ms(j.recoveryDeadline),
    lastHeartbeatAt: ms(j.lastHeartbeatAt),
    startedAt: ms(j.startedAt),
    finishedAt: ms(j.finishedAt),
    outputs: j.outputs as Record<string, string> | null,
    error: j.error,
    gate: (j.environmentGate ?? null) as JobGate | null,
  };
}

async function fenced(write: () => Promise<boolean>): Promise<boolean> {
  try {
    return await write();
  } catch (e) {
    // Another owner's epoch, or a row that does not exist: either way this write did not happen.
    if (e instanceof FencedWriteError || e instanceof NotFoundError) return false;
    throw e;
  }
}
