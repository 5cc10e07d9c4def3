import type { ActorSystem } from '../actors/index.js';
import type { JobEvents, JobRef } from '../agents/index.js';
import { finishedJobStatus, runRef, tellRunsAgentBack, tellRunsAgentLost, tellRunsAgentRestarted, type RunMessage, type RunReply } from '../runs/index.js';

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

export interface JobEventsParts {
  system: ActorSystem;
  /**
   * The jobs the store shows as held by an agent (queued on it, running, recovering or cancelling).
   * A store that answers at once (the simulator's in memory) is acted on at once, in the same turn.
   */
  held(agentId: string): JobRef[] | Promise<JobRef[]>;
  /** What the bridge notices about agents coming and going (info level; pino's `info` fits). */
  log(fields: object, msg: string): void;
  /** How agents' reports travel to their runs; straight over the actor system when absent (an edge worker holds them while cut off). */
  reports?: RunReports;
}

/** The road agents' reports take to their runs. */
export interface RunReports {
  tell(runId: string, msg: RunMessage): void;
  /** Resolves once the run has decided (or refused); rejects when it could not be reached. */
  ask(runId: string, msg: RunMessage): Promise<void>;
}

/** Reports told and asked straight to the runs' actors; an ask a run answers `moved` is asked again. */
export function runReports(system: ActorSystem): RunReports {
  return {
    tell: (runId, msg) => runRef(system, runId).tell(msg),
    ask: async (runId, msg) => {
      for (let attempt = 0; ; attempt++) {
        const reply = await runRef(system, runId).ask<RunReply>(msg, ASK_TIMEOUT_MS);
        if (reply.ok || !reply.moved) return;
        const wait = MOVED_RETRIES_MS[attempt];
        if (wait === undefined) throw new RunMovedError(runId);
        await new Promise<void>((resolve) => system.clock.setTimer(wait, resolve));
      }
    },
  };
}

/**
 * Routes what agents report to the RunActor that owns each job; the run judges every claim against
 * the job's record, log lines included, so a spoofed line is never stored. Acks, rejects, starts,
 * heartbeats and logs are told; final step and job states are asked, so the agent's outbox entry
 * is acked only once the run has decided (a run that answers `moved` decided nothing: the report is
 * asked again, then left to the agent's resend). An agent that registers without jobs the store
 * gives it has lost them with its previous process.
 */
export function jobEventsToRuns({ system, held, log, reports = runReports(system) }: JobEventsParts): JobEvents {
  const tell = (runId: string, msg: RunMessage) => reports.tell(runId, msg);
  const ask = (runId: string, msg: RunMessage) => reports.ask(runId, msg);

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
    step: (job, agentId, s) =>
      ask(job.runId, {
        type: 'step_status',
        jobId: job.jobId,
        stepIndex: s.stepIndex,
        status: s.state,
        exitCode: s.exitCode ?? undefined,
        agentId,
      }),
    finished: (job, agentId, s) =>
      ask(job.runId, {
        type: 'job_finished',
        jobId: job.jobId,
        status: finishedJobStatus(s.state),
        outputs: s.data?.outputs,
        error: s.error,
        agentId,
      }),
    agentLost: (agentId, jobs) => {
      log({ agentId, jobs: jobs.map((j) => j.jobId) }, 'agent lost with jobs in flight: started ones wait for it, the others are requeued');
      tellRunsAgentLost(tell, agentId, jobs);
    },
    agentRegistered: (agentId, running, at) => {
      if (running.length > 0) {
        log({ agentId, jobs: running.map((j) => j.jobId) }, 'agent back, reporting jobs in flight');
        tellRunsAgentBack(tell, agentId, running);
      }
      const listed = new Set(running.map((j) => j.jobId));
      const restarted = (jobs: JobRef[]) => {
        const gone = jobs.filter((j) => !listed.has(j.jobId));
        if (gone.length === 0) return;
        log({ agentId, jobs: gone.map((j) => j.jobId) }, 'agent registered without jobs on record as its own: they went with its previous process');
        tellRunsAgentRestarted(tell, agentId, gone, at);
      };
      const jobs = held(agentId);
      if (Array.isArray(jobs)) restarted(jobs);
      else jobs.then(restarted, (e: Error) => log({ agentId, err: e.message }, 'jobs of a registering agent not checked'));
    },
  };
}
