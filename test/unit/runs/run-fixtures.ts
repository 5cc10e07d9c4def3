/**
 * What the RunActor unit tests build runs from: a plan of jobs turned into the rows a store loads,
 * and a Dispatcher that records what it is asked. The store they run on is the run domain's own
 * MemoryRunStore (src/runs/memory-run-store.ts), held to the real store's behaviour by the
 * contract suite in test/contract/.
 */
import type {
  Dispatcher,
  DispatchResult,
  JobCancelRequest,
  JobDispatchRequest,
  RecordPlacement,
  JobRecord,
  JobStatus,
  LoadedRun,
  NeedsEdge,
  StepRecord,
  UnansweredDispatch,
} from '../../../src/runs/index.js';

export interface PlanJob {
  id: string;
  baseName?: string;
  matrix?: Record<string, string>;
  needs?: (string | [string, JobStatus[]])[];
  steps?: number;
  runsOn?: unknown[];
}

export function planRun(runId: string, jobs: PlanJob[]): LoadedRun {
  const records: JobRecord[] = jobs.map((j) => ({
    id: j.id,
    runId,
    name: j.id,
    baseName: j.baseName ?? j.id,
    matrix: j.matrix ?? null,
    config: { name: j.baseName ?? j.id, runsOn: j.runsOn ?? ['os:linux'], steps: [{ run: 'true' }] },
    status: 'pending',
    needsSatisfied: false,
    dispatchAttempts: 0,
  }));
  const edges: NeedsEdge[] = jobs.flatMap((j) =>
    (j.needs ?? []).map((n) =>
      typeof n === 'string' ? { jobId: j.id, upstreamJobId: n, runOn: ['success'] } : { jobId: j.id, upstreamJobId: n[0], runOn: n[1] },
    ),
  );
  const steps: StepRecord[] = jobs.flatMap((j) =>
    Array.from({ length: j.steps ?? 1 }, (_, i) => ({ jobId: j.id, stepIndex: i, name: `step-${i + 1}`, status: 'pending' as const })),
  );
  return {
    run: { id: runId, status: 'pending', attempt: 1, workflowName: 'ci', ownerEpoch: 1, repoUrl: 'file:///repo', sha: 'abc' },
    jobs: records,
    edges,
    steps,
  };
}

export class RecordingDispatcher implements Dispatcher {
  readonly dispatches: JobDispatchRequest[] = [];
  readonly cancels: JobCancelRequest[] = [];
  readonly ackTimeouts: { agentId: string; jobId: string }[] = [];
  /** Decide where a dispatch goes; by default every job is assigned to agent-1. */
  choose: (request: JobDispatchRequest) => DispatchResult = () => ({ status: 'assigned', agentId: 'agent-1' });

  /** What the run had on record when each dispatch's frame would have left (as the agents room sends it). */
  readonly recordedBeforeSend: (string | null)[] = [];

  /** As the agents room does: the chosen agent is recorded before the frame leaves. */
  async dispatch(request: JobDispatchRequest, record: RecordPlacement): Promise<DispatchResult> {
    this.dispatches.push(structuredClone(request));
    const result = this.choose(request);
    const agentId = result.status === 'assigned' ? result.agentId : null;
    await record(agentId);
    this.recordedBeforeSend.push(agentId);
    return result;
  }

  cancel(request: JobCancelRequest): void {
    this.cancels.push(request);
  }

  /** What the agents room says it found about an agent that let a dispatch go unanswered (nothing: as before). */
  unanswered: UnansweredDispatch | undefined = undefined;

  ackTimedOut(agentId: string, jobId: string): UnansweredDispatch | undefined {
    this.ackTimeouts.push({ agentId, jobId });
    return this.unanswered;
  }

  readonly withdrawals: string[] = [];
  withdraw(_runId: string, jobId: string): void {
    this.withdrawals.push(jobId);
  }

  of(jobId: string): JobDispatchRequest[] {
    return this.dispatches.filter((d) => d.jobId === jobId);
  }
}
