import { z } from 'zod';
import { JOB_STATUSES, TERMINAL_JOB_STATUSES, type JobStatus } from '../../vocabulary/index.js';

/** Version spoken by this build; the orchestrator refuses anything outside MIN..MAX_PROTOCOL_VERSION. */
export const PROTOCOL_VERSION = 1;
export const MIN_PROTOCOL_VERSION = 1;
/** A newer agent may speak messages this build cannot read: it is refused, not half-understood. */
export const MAX_PROTOCOL_VERSION = PROTOCOL_VERSION;

/** Message ids are UUIDs when we make them; any short non-empty string is accepted from others. */
export const messageId = z.string().min(1).max(128);
export const epochMs = z.number().int().nonnegative();
export const runId = z.string().min(1).max(128);
export const jobId = z.string().min(1).max(128);

/** Envelope fields most messages carry; optional where KiCI omits them. */
export const envelope = {
  messageId: messageId.optional(),
  timestamp: epochMs.optional(),
};

/** Envelope fields of messages that are acked or correlated, so they must carry an id. */
export const requiredEnvelope = {
  messageId,
  timestamp: epochMs,
};

/** Every state a job can report: KiCI's list, which is the stored job status vocabulary. */
export const JOB_STATES = JOB_STATUSES;
export type JobState = JobStatus;
export const TERMINAL_JOB_STATES: readonly JobState[] = TERMINAL_JOB_STATUSES;

/** KiCI's four step states plus `cancelled`, for the step a cancel interrupted. */
export const STEP_STATES = ['running', 'success', 'failed', 'skipped', 'cancelled'] as const;
export type StepState = (typeof STEP_STATES)[number];

export const TERMINAL_STEP_STATES: readonly StepState[] = ['success', 'failed', 'skipped', 'cancelled'];

export function isTerminalJobState(state: JobState): boolean {
  return TERMINAL_JOB_STATES.includes(state);
}

export function isTerminalStepState(state: StepState): boolean {
  return TERMINAL_STEP_STATES.includes(state);
}

/** Shared by both directions. */
export const heartbeatMessage = z.object({
  type: z.literal('heartbeat'),
  timestamp: epochMs,
  messageId: messageId.optional(),
});

export const ackMessage = z.object({
  type: z.literal('ack'),
  messageId,
  timestamp: epochMs.optional(),
});

export const nackMessage = z.object({
  type: z.literal('nack'),
  messageId,
  reason: z.string().max(1000),
  timestamp: epochMs.optional(),
});

export const errorMessage = z.object({
  type: z.literal('error'),
  ...envelope,
  code: z.string().min(1).max(100),
  message: z.string().max(2000),
});
