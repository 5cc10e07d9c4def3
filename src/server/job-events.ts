import type { ActorSystem } from '../actors/index.js';
import type { JobEvents, JobRef } from '../agents/index.js';
import { runRef, type FinishedJobStatus, type RunMessage, type RunReply } from '../runs/index.js';
import type { StepLogStore } from '../store/index.js';
import type { JobStatus, StepStatus } from '../transport/index.js';

const ASK_TIMEOUT_MS = 30_000;

/**
 * Routes what agents report to the RunActor that owns each job. Final step and job states are
 * asked, not told: the agent's outbox entry is acked only once the run has made them durable.
 * Log lines go straight to the log store; they are the hot path and need no state machine.
 */
/** The two log levels the bridge uses; pino's logger fits. */
export interface EventLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

export function jobEventsToRuns(system: ActorSystem, logs: StepLogStore, log: EventLog): JobEvents {
  const tell = (runId: string, msg: RunMessage) => runRef(system, runId).tell(msg);
  const ask = async (runId: string, msg: RunMessage) => {
    await runRef(system, runId).ask<RunReply>(msg, ASK_TIMEOUT_MS);
  };
  const byRun = <T extends JobRef>(jobs: T[]) => {
    const groups = new Map<string, string[]>();
    for (const j of jobs) groups.set(j.runId, [...(groups.get(j.runId) ?? []), j.jobId]);
    return groups;
  };

  return {
    acked: (job, agentId) => tell(job.runId, { type: 'job_acked', jobId: job.jobId, agentId }),
    rejected: (job, agentId, reason) => tell(job.runId, { type: 'job_rejected', jobId: job.jobId, agentId, reason }),
    ackTimedOut: (job) => tell(job.runId, { type: 'ack_timeout', jobId: job.jobId }),
    started: (job, agentId) => tell(job.runId, { type: 'job_started', jobId: job.jobId, agentId }),
    heartbeat: (job, agentId) => tell(job.runId, { type: 'job_heartbeat', jobId: job.jobId, agentId }),
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
        status: finishedStatus(s.state),
        outputs: s.data?.outputs,
        error: s.error,
        agentId,
      }),
    agentLost: (agentId, jobs) => {
      log.info({ agentId, jobs: jobs.map((j) => j.jobId) }, 'agent lost with jobs in flight: started ones wait for it, the others are requeued');
      for (const [runId, jobIds] of byRun(jobs)) tell(runId, { type: 'agent_lost', agentId, jobIds });
    },
    agentBack: (agentId, jobs) => {
      log.info({ agentId, jobs: jobs.map((j) => j.jobId) }, 'agent back, reporting jobs in flight');
      for (const [runId, jobIds] of byRun(jobs)) tell(runId, { type: 'agent_back', agentId, jobIds });
    },
    logs: (job, stepIndex, lines) => {
      logs.append(job.runId, job.jobId, stepIndex, `${lines.join('\n')}\n`).catch((e: Error) => log.warn({ jobId: job.jobId, error: e.message }, 'log chunk not stored'));
    },
  };
}

/** Agents report success, failed or cancelled; anything else final is a failure of the job. */
function finishedStatus(state: JobStatus['state']): FinishedJobStatus {
  return state === 'success' || state === 'cancelled' ? state : 'failed';
}
