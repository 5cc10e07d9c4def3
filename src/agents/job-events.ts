import type { JobStatus, StepStatus } from '../transport/index.js';

export interface JobRef {
  runId: string;
  jobId: string;
}

/** Where the hub reports what agents say about jobs; the composition root routes these to RunActors. */
export interface JobEvents {
  acked(job: JobRef, agentId: string): void;
  rejected(job: JobRef, agentId: string, reason: string): void;
  ackTimedOut(job: JobRef, agentId: string): void;
  started(job: JobRef, agentId: string): void;
  /** Resolves once the step's state is durable; only then is the agent's outbox entry acked. */
  step(job: JobRef, agentId: string, status: StepStatus): Promise<void>;
  /** Resolves once the job's final state is durable. */
  finished(job: JobRef, agentId: string, status: JobStatus): Promise<void>;
  heartbeat(job: JobRef, agentId: string): void;
  /** The agent's connection is gone with these jobs on it. */
  agentLost(agentId: string, jobs: (JobRef & { acked: boolean })[]): void;
  /** The agent came back (or, after a restart, showed up) reporting these jobs as still running. */
  agentBack(agentId: string, jobs: JobRef[]): void;
  logs(job: JobRef, stepIndex: number, lines: string[]): void;
}
