/**
 * An agent's connection is not one run's business: when it drops or comes back, each run that has
 * a job on it hears about its own jobs only.
 */
import type { RunMessage } from './messages.js';

export interface AgentJob {
  runId: string;
  jobId: string;
}

/** How a message reaches one run: straight to its actor, or through what keeps reports in order. */
export type TellRun = (runId: string, msg: RunMessage) => void;

export function tellRunsAgentLost(tell: TellRun, agentId: string, jobs: readonly AgentJob[]): void {
  for (const [runId, jobIds] of byRun(jobs)) tell(runId, { type: 'agent_lost', agentId, jobIds } satisfies RunMessage);
}

export function tellRunsAgentBack(tell: TellRun, agentId: string, jobs: readonly AgentJob[]): void {
  for (const [runId, jobIds] of byRun(jobs)) tell(runId, { type: 'agent_back', agentId, jobIds } satisfies RunMessage);
}

/** The agent registered at `at` without these jobs, which the record still shows as its own. */
export function tellRunsAgentRestarted(tell: TellRun, agentId: string, jobs: readonly AgentJob[], at: number): void {
  for (const [runId, jobIds] of byRun(jobs)) tell(runId, { type: 'agent_restarted', agentId, jobIds, at } satisfies RunMessage);
}

function byRun(jobs: readonly AgentJob[]): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const { runId, jobId } of jobs) grouped.set(runId, [...(grouped.get(runId) ?? []), jobId]);
  return grouped;
}
