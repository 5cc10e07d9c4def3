import { z } from 'zod';

/**
 * The lock-file job as it travels inside `job.dispatch`. The lock file itself is validated strictly
 * by the workflows room; on the wire we only insist on what the agent needs to run it, and strip
 * the rest, so a newer orchestrator can add fields without breaking older agents.
 */

/** Variable values: the lock file says strings, but numbers and booleans are taken and stringified. */
export const envValue = z.union([z.string(), z.number(), z.boolean()]);
export const envMap = z.record(z.string().min(1).max(256), envValue);

export const retrySpec = z.object({
  maxAttempts: z.number().int().min(1).max(100),
  delayMs: z.number().int().nonnegative().default(0),
  backoff: z.enum(['fixed', 'exponential']).default('fixed'),
  maxDelayMs: z.number().int().positive().optional(),
});
export type RetrySpec = z.infer<typeof retrySpec>;

export const stepConfig = z.object({
  run: z.string().min(1),
  name: z.string().min(1).max(200).optional(),
  shell: z.string().min(1).max(500).optional(),
  env: envMap.optional(),
  workingDirectory: z.string().min(1).max(1000).optional(),
  /** Milliseconds; 30 min when absent. */
  timeout: z.number().int().positive().optional(),
  retry: retrySpec.optional(),
  continueOnError: z.boolean().optional(),
  /** The names of the dispatch's `secrets` this step sees as environment variables (and no others). */
  secrets: z.array(z.string().min(1).max(256)).max(1000).optional(),
});
export type StepConfig = z.infer<typeof stepConfig>;

export const jobConfig = z.object({
  name: z.string().min(1).max(300),
  steps: z.array(stepConfig).min(1),
  env: envMap.optional(),
  /** Clone the repository before the steps; true when absent. */
  checkout: z.boolean().optional(),
  /** Seconds between SIGTERM and SIGKILL on a graceful cancel (30, capped at 30). */
  gracePeriod: z.number().nonnegative().optional(),
  /** Milliseconds for the whole job; 6 h when absent. */
  timeout: z.number().int().positive().optional(),
});
export type JobConfig = z.infer<typeof jobConfig>;

/** One upstream job as a step sees it in KICI_NEEDS_FILE. */
export const neededJob = z.object({
  status: z.string().min(1),
  outputs: z.record(z.string(), z.string()).default({}),
  children: z
    .record(
      z.string(),
      z.object({ status: z.string().min(1), outputs: z.record(z.string(), z.string()).default({}) }),
    )
    .optional(),
});
export type NeededJob = z.infer<typeof neededJob>;

export const gitAuth = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
});
export type GitAuth = z.infer<typeof gitAuth>;
