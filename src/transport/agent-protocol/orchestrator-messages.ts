import { z } from 'zod';
import {
  ackMessage,
  envelope,
  errorMessage,
  heartbeatMessage,
  jobId,
  nackMessage,
  requiredEnvelope,
  runId,
} from './common.js';
import { envMap, gitAuth, jobConfig, neededJob } from './job-config.js';

/** Orchestrator → agent messages. */

export const authSuccessMessage = z.object({
  type: z.literal('auth.success'),
  ...envelope,
  connectionId: z.string().min(1),
});

export const authFailureMessage = z.object({
  type: z.literal('auth.failure'),
  ...envelope,
  reason: z.string().max(1000),
});

export const registerAckMessage = z.object({
  type: z.literal('register.ack'),
  ...envelope,
  agentId: z.string().min(1),
  labels: z.array(z.string()),
  pendingDispatch: z.boolean().optional(),
});

/** 10 MB per step, as KiCI. */
export const DEFAULT_MAX_LOG_SIZE_BYTES = 10 * 1024 * 1024;

export const jobDispatchMessage = z.object({
  type: z.literal('job.dispatch'),
  ...requiredEnvelope,
  runId,
  jobId,
  jobName: z.string().min(1),
  workflow: z.string().min(1),
  repoUrl: z.string().min(1),
  ref: z.string(),
  sha: z.string().regex(/^[0-9a-f]{7,64}$/i, 'must be a hex commit id'),
  repo: z.string(),
  branch: z.string().optional(),
  event: z.string().min(1),
  attempt: z.number().int().min(1),
  /** Our addition: the run's shard epoch; an agent refuses one older than it has seen for the run. */
  epoch: z.number().int().nonnegative(),
  jobConfig,
  matrix: z.record(z.string(), z.string()).optional(),
  needs: z.record(z.string(), neededJob).optional(),
  /** The job's environment variables (its environments', with the source's overrides): the layer under the job's own env. */
  env: envMap.optional(),
  /**
   * The secrets the job's steps name, by name (KiCI's flat `secrets`): a step sees only those it
   * names, and the agent masks every one of them in every log line. Never logged.
   */
  secrets: z.record(z.string().min(1).max(256), z.string().max(65_536)).optional(),
  /** Basic credentials for http(s) clones; never logged. */
  gitAuth: gitAuth.optional(),
  maxLogSizeBytes: z.number().int().positive().default(DEFAULT_MAX_LOG_SIZE_BYTES),
});
export type JobDispatch = z.infer<typeof jobDispatchMessage>;

export const jobCancelMessage = z.object({
  type: z.literal('job.cancel'),
  ...envelope,
  runId,
  jobId,
  reason: z.string().max(1000),
  force: z.boolean().optional(),
  epoch: z.number().int().nonnegative(),
});
export type JobCancel = z.infer<typeof jobCancelMessage>;

export const rateLimitWarningMessage = z.object({
  type: z.literal('rate.limit.warning'),
  ...envelope,
  retryAfterMs: z.number().int().nonnegative(),
});

export const orchestratorMessage = z.discriminatedUnion('type', [
  authSuccessMessage,
  authFailureMessage,
  registerAckMessage,
  jobDispatchMessage,
  jobCancelMessage,
  rateLimitWarningMessage,
  heartbeatMessage,
  ackMessage,
  nackMessage,
  errorMessage,
]);
export type OrchestratorMessage = z.infer<typeof orchestratorMessage>;
/** What a sender builds: defaults (such as maxLogSizeBytes) may be left out. */
export type OrchestratorMessageInput = z.input<typeof orchestratorMessage>;
