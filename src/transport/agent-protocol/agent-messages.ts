import { z } from 'zod';
import {
  JOB_STATES,
  STEP_STATES,
  ackMessage,
  envelope,
  epochMs,
  errorMessage,
  heartbeatMessage,
  jobId,
  nackMessage,
  requiredEnvelope,
  runId,
} from './common.js';

/** Agent → orchestrator messages. */

export const authRequestMessage = z.object({
  type: z.literal('auth.request'),
  ...envelope,
  token: z.string().min(1).max(512),
  protocolVersion: z.number().int().min(0),
});

export const inFlightJob = z.object({ jobId, runId });
export type InFlightJob = z.infer<typeof inFlightJob>;

export const agentRegisterMessage = z.object({
  type: z.literal('agent.register'),
  ...envelope,
  agentId: z.string().min(1).max(128),
  labels: z.array(z.string().min(1).max(256)).max(256),
  platform: z.string().min(1),
  arch: z.string().min(1),
  version: z.string().min(1),
  hostname: z.string(),
  maxConcurrency: z.number().int().min(1).max(1000),
  inFlightJobs: z.array(inFlightJob).optional(),
  osRelease: z.string().optional(),
  nodeVersion: z.string().optional(),
  cpuCount: z.number().int().nonnegative().optional(),
  totalMemoryMb: z.number().int().nonnegative().optional(),
  runningAsUser: z.string().optional(),
  runningAsUid: z.number().int().optional(),
});
export type AgentRegister = z.infer<typeof agentRegisterMessage>;

export const jobAckMessage = z.object({
  type: z.literal('job.ack'),
  ...envelope,
  jobId,
  runId,
});

export const JOB_REJECT_REASONS = ['busy', 'draining', 'stale_epoch'] as const;
export type JobRejectReason = (typeof JOB_REJECT_REASONS)[number];

export const jobRejectMessage = z.object({
  type: z.literal('job.reject'),
  ...envelope,
  jobId,
  runId,
  reason: z.enum(JOB_REJECT_REASONS),
});

export const stepResult = z.object({
  index: z.number().int().nonnegative(),
  name: z.string(),
  state: z.enum(STEP_STATES),
  exitCode: z.number().int().nullable().optional(),
  attempts: z.number().int().nonnegative().optional(),
  durationMs: z.number().int().nonnegative().optional(),
  outputs: z.record(z.string(), z.string()).optional(),
  error: z.string().optional(),
});
export type StepResult = z.infer<typeof stepResult>;

export const jobStatusMessage = z.object({
  type: z.literal('job.status'),
  ...requiredEnvelope,
  runId,
  jobId,
  state: z.enum(JOB_STATES),
  data: z
    .object({
      outputs: z.record(z.string(), z.string()),
      stepResults: z.array(stepResult),
    })
    .optional(),
  /** Why the job did not succeed: `job_timeout`, `cancelled: <reason>`, `step_failed: <name>`, … */
  error: z.string().max(4000).optional(),
});
export type JobStatus = z.infer<typeof jobStatusMessage>;

export const stepStatusMessage = z.object({
  type: z.literal('step.status'),
  ...requiredEnvelope,
  runId,
  jobId,
  stepIndex: z.number().int().nonnegative(),
  stepName: z.string(),
  state: z.enum(STEP_STATES),
  exitCode: z.number().int().nullable().optional(),
  attempt: z.number().int().min(1).optional(),
  durationMs: z.number().int().nonnegative().optional(),
  logBytesStreamed: z.number().int().nonnegative().optional(),
  error: z.string().max(4000).optional(),
});
export type StepStatus = z.infer<typeof stepStatusMessage>;

export const logChunkMessage = z.object({
  type: z.literal('log.chunk'),
  ...envelope,
  runId,
  jobId,
  stepIndex: z.number().int().nonnegative(),
  lines: z.array(z.string()),
});
export type LogChunk = z.infer<typeof logChunkMessage>;

/** Per running job; KiCI gives it no messageId. */
export const jobHeartbeatMessage = z.object({
  type: z.literal('job.heartbeat'),
  runId,
  jobId,
  timestamp: epochMs.optional(),
});

export const agentLogMessage = z.object({
  type: z.literal('agent.log'),
  ...envelope,
  lines: z.array(z.string()),
});

/**
 * KiCI agents send it after every register.ack, to say the registration (its config) took. kici
 * has nothing to do with it, but refusing it would close every KiCI agent right after it joined.
 */
export const configAckMessage = z.object({
  type: z.literal('config.ack'),
  ...envelope,
  agentId: z.string().min(1).max(128),
});

export const agentMessage = z.discriminatedUnion('type', [
  authRequestMessage,
  agentRegisterMessage,
  heartbeatMessage,
  jobAckMessage,
  jobRejectMessage,
  jobStatusMessage,
  stepStatusMessage,
  logChunkMessage,
  jobHeartbeatMessage,
  agentLogMessage,
  configAckMessage,
  ackMessage,
  nackMessage,
  errorMessage,
]);
export type AgentMessage = z.infer<typeof agentMessage>;
export type AgentMessageInput = z.input<typeof agentMessage>;
