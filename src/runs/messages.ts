/**
 * What a RunActor understands. Validation happens at the wire edge (agent protocol, admin API);
 * these are trusted, already-typed messages.
 */
import type { HoldGate, HoldStatus, Verdict } from '../environments/index.js';
import type { Outputs } from './ports.js';
import type { StepStatus } from './statuses.js';

export type FinishedJobStatus = 'success' | 'failed' | 'cancelled';

export type RunMessage =
  /** Begin (or resume) the run. Idempotent: a running run just re-checks what can go. */
  | { type: 'start' }
  /** Re-check a started run (after a restart or a crash); never starts a pending run. */
  | { type: 'resume' }
  /**
   * A dispatcher is about to send a job that waited in its queue to `agentId` (null: it goes back
   * to the queue): recorded only if the job is still at `attempt`, unanswered, and on record with
   * `previous` (compare-and-set), and answered with the run's epoch for the frame. Asked, not
   * told: the frame leaves only after the record. Not a claim: the dispatcher decides the placement.
   */
  | { type: 'job_assigned'; jobId: string; agentId: string | null; previous: string | null; attempt: number }
  /**
   * The dispatch `attempt` went unanswered (the actor's own deadline, or the coordinator's sweep).
   * Acted on only when `confirm`: the first one is looked at again a turn later (see ackTimeout).
   */
  | { type: 'ack_timeout'; jobId: string; attempt: number; confirm?: boolean }
  | AgentClaim
  | { type: 'agent_lost'; agentId: string; jobIds: string[] }
  | { type: 'agent_back'; agentId: string; jobIds: string[] }
  /**
   * The node holding the agent's socket (an edge worker) is out of reach, not the agent: its
   * running jobs wait for it as `recovering` for `windowMs`, its reports held on the worker meanwhile.
   */
  | { type: 'agent_unreachable'; agentId: string; jobIds: string[]; windowMs: number }
  /**
   * The agent registered at `at` without these jobs of this run: a job still on record as its own
   * and given to it before then went with its previous process.
   */
  | { type: 'agent_restarted'; agentId: string; jobIds: string[]; at: number }
  | { type: 'recovery_expired'; jobId: string }
  /** The job's queue deadline (armed by the actor from when it was first queued). */
  | { type: 'queue_timeout'; jobId: string }
  | { type: 'stale'; jobId: string }
  | { type: 'cancel'; force?: boolean; reason?: string }
  /** The run's own deadline (armed by the actor; a coordinator sweep may send it too). */
  | { type: 'workflow_timeout' }
  /**
   * An EnvGroupActor's word about a job of this run that was waiting in its line (`group`): it got
   * its slot, or a newer run replaced it (cancel-pending). May come late or twice.
   */
  | { type: 'env_slot'; jobId: string; group: string; verdict: 'admitted' | 'cancelled'; reason?: string }
  /** A job's environment wait timer ran out (armed by the actor from the end stored on the job). */
  | { type: 'gate_timer'; jobId: string }
  /**
   * A reviewer's approve or reject (an admin token's name), on the run's held jobs: those named
   * `job` (a concrete name, or a lock-file name for all its matrix children), or without `job`
   * every pending hold of the run the reviewer may vote on. Answered with a `HoldVoteReply`.
   */
  | { type: 'hold_vote'; reviewer: string; tokenId?: string; viewer?: boolean; verdict: Verdict; reason: string | null; job?: string }
  /** The coordinator's expiry duty found the job's pending hold past its expiry. */
  | { type: 'hold_expired'; jobId: string; holdId: string };

/** One hold a vote reached, as it stands after the vote. */
export interface VotedHold {
  job: string;
  gate: HoldGate;
  status: HoldStatus;
  /** Reviewers whose approval it still waits for. */
  remaining: string[];
}

/**
 * The answer to `hold_vote`: the holds it changed, or why it changed nothing (`not-found`: no
 * pending hold matches; `conflict`: the reviewer is not listed, voted already, or the job is not held).
 */
export type HoldVoteReply = { ok: true; holds: VotedHold[] } | { ok: false; ignored: string; refused: 'not-found' | 'conflict' };

/**
 * What an agent says about a job. Each is judged against the job's record (job-claims.ts): only the
 * agent holding the job changes it; a message from any other agent changes nothing.
 */
export type AgentClaim =
  | { type: 'job_acked'; jobId: string; agentId: string }
  | { type: 'job_rejected'; jobId: string; reason: string; agentId: string }
  | { type: 'job_started'; jobId: string; agentId: string }
  | { type: 'job_heartbeat'; jobId: string; agentId: string }
  | { type: 'step_status'; jobId: string; stepIndex: number; status: StepStatus; exitCode?: number; agentId: string }
  | { type: 'job_finished'; jobId: string; status: FinishedJobStatus; outputs?: Outputs; error?: string; agentId: string }
  /** Step log lines, already joined into the text to append. */
  | { type: 'job_logs'; jobId: string; stepIndex: number; text: string; agentId: string };

const CLAIM_TYPES: ReadonlySet<string> = new Set<AgentClaim['type']>([
  'job_acked',
  'job_rejected',
  'job_started',
  'job_heartbeat',
  'step_status',
  'job_finished',
  'job_logs',
]);

export function isAgentClaim(msg: RunMessage): msg is AgentClaim {
  return CLAIM_TYPES.has(msg.type);
}

/** What a node that only hosts agents (an edge worker) may tell a run: its agents' claims and their comings and goings. */
const AGENT_HOST_TYPES: ReadonlySet<string> = new Set([...CLAIM_TYPES, 'agent_lost', 'agent_back', 'agent_restarted']);

/** Is `msg` (as it arrived from another node, unchecked) one an edge worker may send a run? */
export function isAgentHostMessage(msg: unknown): boolean {
  const type = (msg as { type?: unknown } | null)?.type;
  return typeof type === 'string' && AGENT_HOST_TYPES.has(type);
}

/**
 * Every message is answered; `ignored` says why nothing changed (duplicates, late or foreign
 * messages). `foreign` marks a claim from an agent that does not hold the job.
 */
/**
 * `moved`: this node no longer owns the run (its writes are fenced off), so nothing was decided:
 * a caller holding an agent's report must not acknowledge it, but bring it to the run's new owner.
 */
export type RunReply =
  | { ok: true; epoch?: number; holds?: VotedHold[] }
  | { ok: false; ignored: string; foreign?: true; moved?: true; refused?: 'not-found' | 'conflict' };

export const AGENT_RESTARTED_ERROR = 'the agent restarted and lost the job';
export const RECOVERY_EXPIRED_ERROR = 'agent disconnected and did not reconnect within the recovery window';
export const WORKFLOW_TIMEOUT_REASON = 'workflow_timeout';
export const STALE_ERROR = 'job heartbeats stopped: no heartbeat within the stale threshold';
export const UNANSWERED_DISPATCH_ERROR =
  'the node holding the agent did not say whether the agent took the job within the recovery window; not placed again, as the agent may be running it';

export const ok: RunReply = { ok: true };
export const ignored = (why: string): RunReply => ({ ok: false, ignored: why });
export const refusedForeign = (why: string): RunReply => ({ ok: false, ignored: why, foreign: true });
/** A placement recorded: the frame carries the run's epoch. */
export const recordedAt = (epoch: number): RunReply => ({ ok: true, epoch });
export const movedAway: RunReply = { ok: false, ignored: 'another node owns this run now', moved: true };

/** Agents report success, failed or cancelled; anything else final is a failure of the job. */
export function finishedJobStatus(state: string): FinishedJobStatus {
  return state === 'success' || state === 'cancelled' ? state : 'failed';
}
