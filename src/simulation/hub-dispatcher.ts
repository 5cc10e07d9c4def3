/**
 * The run domain's Dispatcher port over a simulated node's real AgentHub, as
 * src/server/wiring/hub-dispatcher.ts adapts it in the orchestrator: a job request becomes the
 * `job.dispatch` frame (KiCI's fields plus the shard epoch) and is placed through the hub (an
 * agent here, else one another node holds, else the queue). One addition: the frame also carries
 * the dispatch attempt (`simDispatchAttempt`), so the checker can count starts per attempt.
 */
import type { AgentHub } from '../agents/index.js';
import type { DispatchResult, Dispatcher, JobCancelRequest, JobDispatchRequest, RecordPlacement } from '../runs/index.js';

export class SimHubDispatcher implements Dispatcher {
  constructor(
    private readonly hub: AgentHub,
    /** The epoch a cancel carries: the run's shard epoch on this node. */
    private readonly epochOfRun: (runId: string) => number,
  ) {}

  async dispatch(req: JobDispatchRequest, record: RecordPlacement): Promise<DispatchResult> {
    const run = req.run;
    const frame = {
      runId: req.runId,
      jobId: req.jobId,
      jobName: req.jobName,
      workflow: run.workflowName,
      repoUrl: run.repoUrl ?? '',
      ref: run.ref ?? '',
      sha: run.sha ?? '',
      repo: run.repoUrl ?? '',
      branch: run.branch ?? undefined,
      event: 'push',
      attempt: run.attempt,
      epoch: req.epoch,
      jobConfig: req.config as never,
      matrix: req.matrix ?? undefined,
      needs: req.needs,
      maxLogSizeBytes: 10 * 1024 * 1024,
      simDispatchAttempt: req.attempt,
    };
    const placed = await this.hub.place({ runId: req.runId, jobId: req.jobId, attempt: req.attempt, runsOn: req.labels, frame }, record);
    return placed.status === 'sent' ? { status: 'assigned', agentId: placed.agentId } : { status: 'queued' };
  }

  cancel(req: JobCancelRequest): void {
    this.hub.cancel({ runId: req.runId, jobId: req.jobId }, req.reason, req.force, this.epochOfRun(req.runId), req.agentId);
  }

  withdraw(_runId: string, jobId: string): void {
    this.hub.withdraw(jobId);
  }

  ackTimedOut(agentId: string, jobId: string): void {
    this.hub.closeSilentAgent(agentId, jobId);
  }
}
