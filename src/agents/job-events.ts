import type { JobStatus, StepStatus } from '../transport/index.js';

export interface JobRef {
  runId: string;
  jobId: string;
}

/**
 * Where the hub reports jobs to their runs; the composition root routes these to RunActors. What
 * an agent says about a job is a claim the run judges against the job's record: the hub passes it
 * on with who said it and decides nothing about it.
 */
export interface JobEvents {
  /**
   * The dispatcher is about to send a job that waited in its queue to `agentId` (null: back to the
   * queue; its own decision, not a claim): the run records it if the job is still at `attempt` and
   * on record with `previous`. Resolves with the run's epoch for the frame, or undefined when the
   * run refused (then nothing is sent).
   */
  assign(job: JobRef, attempt: number, agentId: string | null, previous: string | null): Promise<number | undefined>;
  acked(job: JobRef, agentId: string): void;
  rejected(job: JobRef, agentId: string, reason: string): void;
  started(job: JobRef, agentId: string): void;
  /** Resolves once the step's state is durable (or refused); only then is the agent's outbox entry acked. */
  step(job: JobRef, agentId: string, status: StepStatus): Promise<void>;
  /** Resolves once the job's final state is durable (or refused). */
  finished(job: JobRef, agentId: string, status: JobStatus): Promise<void>;
  heartbeat(job: JobRef, agentId: string): void;
  logs(job: JobRef, agentId: string, stepIndex: number, lines: string[]): void;
  /** The agent's connection is gone with these jobs on it. */
  agentLost(agentId: string, jobs: (JobRef & { acked: boolean })[]): void;
  /**
   * The agent registered (a new connection, a reconnect, or a restarted process) and says these
   * are all the jobs it still runs. Any other job on record as its own, given to it before `at`,
   * is gone with its previous process.
   */
  agentRegistered(agentId: string, running: JobRef[], at: number): void;
}

/** A run refused an agent's message about one of its jobs (the agent does not hold it). */
export interface RefusedClaim extends JobRef {
  agentId: string;
  /** Which report it was, e.g. `step_status`. */
  message: string;
  reason: string;
}
