/**
 * What a RunActor understands. Validation happens at the wire edge (agent protocol, admin API);
 * these are trusted, already-typed messages.
 */
import type { Outputs } from './ports.js';
import type { StepStatus } from './statuses.js';

export type FinishedJobStatus = 'success' | 'failed' | 'cancelled';

export type RunMessage =
  /** Begin (or resume) the run. Idempotent: a running run just re-checks what can go. */
  | { type: 'start' }
  /** Re-check a started run (after a restart or a crash); never starts a pending run. */
  | { type: 'resume' }
  | { type: 'job_acked'; jobId: string; agentId: string }
  | { type: 'job_rejected'; jobId: string; reason: string; agentId?: string }
  /** From the actor's own deadline (with `attempt`) or from the agents room when it owns the deadline (with `agentId`). */
  | { type: 'ack_timeout'; jobId: string; attempt?: number; agentId?: string }
  | { type: 'job_started'; jobId: string; agentId: string }
  | { type: 'job_heartbeat'; jobId: string; agentId?: string }
  | { type: 'step_status'; jobId: string; stepIndex: number; status: StepStatus; exitCode?: number; agentId?: string }
  | { type: 'job_finished'; jobId: string; status: FinishedJobStatus; outputs?: Outputs; error?: string; agentId?: string }
  | { type: 'agent_lost'; agentId: string; jobIds: string[] }
  | { type: 'agent_back'; agentId: string; jobIds: string[] }
  | { type: 'recovery_expired'; jobId: string }
  | { type: 'stale'; jobId: string }
  | { type: 'cancel'; force?: boolean; reason?: string }
  /** The run's own deadline (armed by the actor; a coordinator sweep may send it too). */
  | { type: 'workflow_timeout' };

/** Every message is answered; `ignored` says why nothing changed (duplicates, late or foreign messages). */
export type RunReply = { ok: true } | { ok: false; ignored: string };

export const RECOVERY_EXPIRED_ERROR = 'agent disconnected and did not reconnect within the recovery window';
export const WORKFLOW_TIMEOUT_REASON = 'workflow_timeout';
export const STALE_ERROR = 'job heartbeats stopped: no heartbeat within the stale threshold';

export const ok: RunReply = { ok: true };
export const ignored = (why: string): RunReply => ({ ok: false, ignored: why });
