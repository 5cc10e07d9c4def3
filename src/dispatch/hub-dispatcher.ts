import type { AgentHub, DispatchRequest } from '../agents/index.js';
import type { DispatchResult, Dispatcher, JobCancelRequest, JobDispatchRequest, RecordPlacement, UnansweredDispatch } from '../runs/index.js';
import type { CiEvent } from '../workflows/index.js';

/** The job.dispatch frame without its envelope, as the hub places it. */
export type DispatchFrame = DispatchRequest['frame'];

export interface HubDispatcherParts {
  hub: AgentHub;
  /** The epoch a cancel must carry: the run's shard epoch on this node. */
  epochOfRun(runId: string): number;
  /**
   * Clone credentials for a run (its source's token, a GitHub App's installation token), or
   * undefined. Absent where no source has any (the simulator): the frame then leaves without
   * waiting on a lookup.
   */
  gitAuth?(run: JobDispatchRequest['run']): Promise<{ username: string; password: string } | undefined>;
  /** Last touch to each frame before it is placed (the simulator stamps the dispatch attempt on it, for its checker). */
  stamp?(frame: DispatchFrame, request: JobDispatchRequest): DispatchFrame;
}

/** The log a step may stream before the agent cuts it short (KiCI's field). */
const MAX_LOG_SIZE_BYTES = 10 * 1024 * 1024;

/**
 * The run domain's Dispatcher port over this node's agent hub: a job request becomes the
 * `job.dispatch` frame agents understand (KiCI's fields plus our `epoch`), placed through the hub
 * (an agent here, else one another node holds, else the queue).
 */
export class HubDispatcher implements Dispatcher {
  constructor(private readonly p: HubDispatcherParts) {}

  async dispatch(req: JobDispatchRequest, record: RecordPlacement): Promise<DispatchResult> {
    const run = req.run;
    const event = (run.event ?? {}) as CiEvent;
    // Only awaited when there is a lookup: a turn of the event loop here would reorder the simulator's events.
    const gitAuth = this.p.gitAuth ? await this.p.gitAuth(run) : undefined;
    const frame: DispatchFrame = {
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
      ...(req.env && Object.keys(req.env).length > 0 && { env: req.env }),
      ...(req.secrets && Object.keys(req.secrets).length > 0 && { secrets: req.secrets }),
      gitAuth,
      maxLogSizeBytes: MAX_LOG_SIZE_BYTES,
    };
    const placed = await this.p.hub.place({
      runId: req.runId,
      jobId: req.jobId,
      attempt: req.attempt,
      runsOn: req.labels,
      frame: this.p.stamp ? this.p.stamp(frame, req) : frame,
    }, record);
    return placed.status === 'sent' ? { status: 'assigned', agentId: placed.agentId } : { status: 'queued' };
  }

  cancel(req: JobCancelRequest): void {
    this.p.hub.cancel({ runId: req.runId, jobId: req.jobId }, req.reason, req.force, this.p.epochOfRun(req.runId), req.agentId);
  }

  withdraw(_runId: string, jobId: string): void {
    this.p.hub.withdraw(jobId);
  }

  /** What the hub found decides whether the run places the job again (see `UnansweredDispatch`). */
  ackTimedOut(agentId: string, jobId: string): UnansweredDispatch | Promise<UnansweredDispatch> {
    return this.p.hub.closeSilentAgent(agentId, jobId);
  }
}
