import type { ActorSystem } from '../../actors/index.js';
import type { JobEvents, JobRef } from '../../agents/index.js';
import { finishedJobStatus, runRef, tellRunsAgentBack, tellRunsAgentLost, tellRunsAgentRestarted, type RunMessage, type RunReply } from '../../runs/index.js';
import type { JobStatus, StepStatus } from '../../transport/index.js';

const ASK_TIMEOUT_MS = 30_000;
/**
 * A final report that reached a run just deposed (its shard moved) is asked again, a little later
 * each time, until this node's map sends it to the new owner; past the last try the agent's own
 * resend of the unacknowledged report takes over.
 */
const MOVED_RETRIES_MS = [50, 100, 200, 400, 800, 1_600, 3_200];

/** The run's owner changed before it decided: the report must not be acknowledged. */
export class RunMovedError extends Error {
  constructor(runId: string) {
    super(`run ${runId} moved to another node before it recorded the report`);
    this.name = 'RunMovedError';
  }
}

/** The log level the bridge uses; pino's logger fits. */
export interface EventLog {
  info(fields: object, msg: string): void;
}

/**
 * Routes what agents report to the RunActor that owns each job; the run judges every claim against
 * the job's record, log lines included, so a spoofed line is never stored. Final step and job
 * states are asked, not told: the agent's outbox entry is acked only once the run has decided.
 */
/** The jobs the store shows as held by an agent (queued on it, running, recovering or cancelling). */
export type HeldJobs = (agentId: string) => Promise<JobRef[]>;

export function jobEventsToRuns(system: ActorSystem, log: EventLog, held: HeldJobs): JobEvents {
  const tell = (runId: string, msg: RunMessage) => runRef(system, runId).tell(msg);
  const ask = async (runId: string, msg: RunMessage) => {
    for (let attempt = 0; ; attempt++) {
      const reply = await runRef(system, runId).ask<RunReply>(msg, ASK_TIMEOUT_MS);
      if (reply.ok || !reply.moved) return;
      const wait = MOVED_RETRIES_MS[attempt];
      if (wait === undefined) throw new RunMovedError(runId);
      await new Promise<void>((resolve) => system.clock.setTimer(wait, resolve));
    }
  };

  return {
    assign: async (job, attempt, agentId, previous) => {
      const reply = await runRef(system, job.runId).ask<RunReply>({ type: 'job_assigned', jobId: job.jobId, agentId, previous, attempt }, ASK_TIMEOUT_MS);
      return reply.ok ? reply.epoch : undefined;
    },
    acked: (job, agentId) => tell(job.runId, { type: 'job_acked', jobId: job.jobId, agentId }),
    rejected: (job, agentId, reason) => tell(job.runId, { type: 'job_rejected', jobId: job.jobId, agentId, reason }),
    started: (job, agentId) => tell(job.runId, { type: 'job_started', jobId: job.jobId, agentId }),
    heartbeat: (job, agentId) => tell(job.runId, { type: 'job_heartbeat', jobId: job.jobId, agentId }),
    logs: (job, agentId, stepIndex, lines) =>
      tell(job.runId, { type: 'job_logs', jobId: job.jobId, agentId, stepIndex, text: `${lines.join('\n')}\n` }),
    step: (job, agentId, s: StepStatus) =>
      ask(job.runId, {
        type: 'step_status',
        jobId: job.jobId,
        stepIndex: s.stepIndex,
        status: s.state,
        exitCode: s.exitCode ?? undefined,
        agentId,
      }),
    finished: (job, agentId, s: JobStatus) =>
      ask(job.runId, {
        type: 'job_finished',
        jobId: job.jobId,
        status: finishedJobStatus(s.state),
        outputs: s.data?.outputs,
        error: s.error,
        agentId,
      }),
    agentLost: (agentId, jobs) => {
      log.info({ agentId, jobs: jobs.map((j) => j.jobId) }, 'agent lost with jobs in flight: started ones wait for it, the others are requeued');
      tellRunsAgentLost(system, agentId, jobs);
    },
    agentRegistered: (agentId, running, at) => {
      if (running.length > 0) {
        log.info({ agentId, jobs: running.map((j) => j.jobId) }, 'agent back, reporting jobs in flight');
        tellRunsAgentBack(system, agentId, running);
      }
      const listed = new Set(running.map((j) => j.jobId));
      held(agentId).then(
        (jobs) => {
          const gone = jobs.filter((j) => !listed.has(j.jobId));
          if (gone.length === 0) return;
          log.info({ agentId, jobs: gone.map((j) => j.jobId) }, 'agent registered without jobs on record as its own: they went with its previous process');
          tellRunsAgentRestarted(system, agentId, gone, at);
        },
        (e: Error) => log.info({ agentId, err: e.message }, 'jobs of a registering agent not checked'),
      );
    },
  };
}
