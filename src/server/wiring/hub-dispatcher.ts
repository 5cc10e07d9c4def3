import type { AgentHub } from '../../agents/index.js';
import type { DispatchResult, Dispatcher, JobCancelRequest, JobDispatchRequest, RecordPlacement } from '../../runs/index.js';
import type { CiEvent } from '../../workflows/index.js';

export interface HubDispatcherDeps {
  hub: AgentHub;
  /** Clone credentials for a run's source (http(s) sources with a token), or undefined. */
  gitAuth(sourceId: string | null | undefined, orgId: string | undefined): Promise<{ username: string; password: string } | undefined>;
  /** The epoch a cancel must carry: the run's shard epoch on this node. */
  epochOfRun(runId: string): number;
}

/**
 * The run domain's Dispatcher port over this node's agent hub: turns a job request into the
 * `job.dispatch` frame agents understand (KiCI's fields plus our `epoch`).
 */
export class HubDispatcher implements Dispatcher {
  constructor(private readonly deps: HubDispatcherDeps) {}

  async dispatch(req: JobDispatchRequest, record: RecordPlacement): Promise<DispatchResult> {
    const run = req.run;
    const event = (run.event ?? {}) as CiEvent;
    const gitAuth = await this.deps.gitAuth(run.sourceId, run.orgId);
    const placed = await this.deps.hub.place({
      runId: req.runId,
      jobId: req.jobId,
      attempt: req.attempt,
      runsOn: req.labels,
      frame: {
        runId: req.runId,
        jobId: req.jobId,
        jobName: req.jobName,
        workflow: run.workflowName,
        repoUrl: run.repoUrl ?? '',
        ref: run.ref ?? '',
        sha: run.sha ?? '',
        repo: event.repo ?? run.repoUrl ?? '',
        branch: run.branch ?? undefined,
        event: event.type ?? 'push',
        attempt: run.attempt,
        epoch: req.epoch,
        jobConfig: req.config as never,
        matrix: req.matrix ?? undefined,
        needs: req.needs,
        gitAuth,
        maxLogSizeBytes: 10 * 1024 * 1024,
      },
    }, record);
    return placed.status === 'sent' ? { status: 'assigned', agentId: placed.agentId } : { status: 'queued' };
  }

  cancel(req: JobCancelRequest): void {
    this.deps.hub.cancel({ runId: req.runId, jobId: req.jobId }, req.reason, req.force, this.deps.epochOfRun(req.runId), req.agentId);
  }

  withdraw(_runId: string, jobId: string): void {
    this.deps.hub.withdraw(jobId);
  }

  ackTimedOut(agentId: string, jobId: string): void {
    this.deps.hub.closeSilentAgent(agentId, jobId);
  }
}
