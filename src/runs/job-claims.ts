/**
 * Whose word about a job counts. Every agent message that names a job is a claim: "I hold it".
 * The answer comes from the job's record alone (its agent, its previous agent, its status and when
 * it finished), never from what one node happens to remember, so it is the same on whichever node
 * the run lives and after any restart.
 */
import type { JobRecord } from './ports.js';
import { isTerminalJobStatus } from './statuses.js';

export type Claim =
  /** The agent of the job's current dispatch, while the job is queued, running, recovering or cancelling there. */
  | 'holder'
  /** The job was requeued after this agent was lost and is not placed anywhere yet: its copy may be adopted. */
  | 'returning'
  /** The job ended on this agent: late messages (log replays, outbox resends) are taken or dropped, never refused. */
  | 'finished_here'
  /** Anyone else: the message changes nothing and the agent is told to stop the job. */
  | 'foreign';

/** How long after a job ended its own agent's late log lines are still stored. */
export const FINISHED_GRACE_MS = 5 * 60_000;

export function claimOf(job: JobRecord | undefined, agentId: string): Claim {
  if (!job) return 'foreign';
  if (job.agentId === agentId) return isTerminalJobStatus(job.status) ? 'finished_here' : 'holder';
  if (job.status === 'queued' && !job.agentId && job.previousAgentId === agentId) return 'returning';
  return 'foreign';
}

/** Late log lines from the job's own agent are kept for a while after the job ended. */
export function withinFinishedGrace(job: JobRecord, now: number): boolean {
  return job.finishedAt != null && now - job.finishedAt <= FINISHED_GRACE_MS;
}
