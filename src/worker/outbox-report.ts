import { z } from 'zod';
import type { AgentClaim, RunMessage } from '../runs/index.js';
import { STEP_STATUSES } from '../vocabulary/index.js';

/**
 * What the worker holds for a run while its owner is out of reach: everything an agent reports that
 * changes a job's record or its log. Heartbeats are not held: they only say "alive now", and the
 * owner keeps a worker's jobs `recovering` while the worker is away.
 */
export const HELD_TYPES = ['job_acked', 'job_rejected', 'job_started', 'job_logs', 'step_status', 'job_finished'] as const satisfies readonly AgentClaim['type'][];
export type HeldType = (typeof HELD_TYPES)[number];
export type HeldRunMessage = Extract<RunMessage, { type: HeldType }>;

/** One report the worker answers for until the run's owner has decided on it. */
export interface HeldReport {
  runId: string;
  message: HeldRunMessage;
}

const HELD: ReadonlySet<string> = new Set(HELD_TYPES);

export function isHeldMessage(message: RunMessage): message is HeldRunMessage {
  return HELD.has(message.type);
}

/**
 * What one outbox file holds: the report, and for a gap marker (a `job_logs` standing in for log
 * chunks the bound dropped) the log bytes it stands for. Objects are loose: a field a newer message
 * carries survives a restart as it would have survived in memory.
 */
export interface StoredFile extends HeldReport {
  dropped?: number;
}

const jobId = z.string().min(1);
const agentId = z.string().min(1);
const stepIndex = z.number().int().nonnegative();

const heldMessage = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('job_acked'), jobId, agentId }),
  z.looseObject({ type: z.literal('job_rejected'), jobId, agentId, reason: z.string() }),
  z.looseObject({ type: z.literal('job_started'), jobId, agentId }),
  z.looseObject({ type: z.literal('job_logs'), jobId, agentId, stepIndex, text: z.string() }),
  z.looseObject({
    type: z.literal('step_status'),
    jobId,
    agentId,
    stepIndex,
    status: z.enum(STEP_STATUSES),
    exitCode: z.number().int().optional(),
  }),
  z.looseObject({
    type: z.literal('job_finished'),
    jobId,
    agentId,
    status: z.enum(['success', 'failed', 'cancelled']),
    outputs: z.record(z.string(), z.string()).optional(),
    error: z.string().optional(),
  }),
]);

export const storedFile: z.ZodType<StoredFile> = z.object({
  runId: z.string().min(1),
  message: heldMessage,
  dropped: z.number().int().positive().optional(),
});

/** The one line a reader of the step's log finds where the dropped lines were. */
export function gapMarkerText(droppedBytes: number): string {
  return `[kici] ${droppedBytes} bytes of this step's log were dropped: the edge worker's outbox was full while no coordinator was reachable\n`;
}

/** Drops are counted per run, job, agent and step: one marker each. */
export function stepKey(runId: string, message: { jobId: string; agentId: string; stepIndex: number }): string {
  return JSON.stringify([runId, message.jobId, message.agentId, message.stepIndex]);
}
