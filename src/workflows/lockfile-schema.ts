/**
 * The lock file `.kici/kici.lock.json`, exactly as LOCKFILE.md describes it. Every object is
 * strict so that a typo in a field name fails loudly instead of being silently ignored.
 * Cross-field rules (unique names, needs, cycles, matrix size) live in lockfile-rules.ts and run
 * only once the structure is sound, so the first error a user sees is the most basic one.
 */
import { z } from 'zod';
import { lockfileRuleViolations } from './lockfile-rules.js';
import { TERMINAL_JOB_STATUSES } from '../vocabulary/index.js';

export const LOCKFILE_SCHEMA_VERSION = 1;

/** Defaults LOCKFILE.md names for fields a user may leave out. */
export const LOCKFILE_DEFAULTS = {
  concurrencyCancelInProgress: true,
  concurrencyMax: 1,
  jobTimeoutMs: 6 * 60 * 60 * 1000,
  jobGracePeriodSeconds: 30,
  jobCheckout: true,
  stepShell: 'bash -eo pipefail',
  stepTimeoutMs: 30 * 60 * 1000,
  stepContinueOnError: false,
} as const;

/** Graceful cancels never wait longer than this between SIGTERM and SIGKILL. */
export const MAX_GRACE_PERIOD_SECONDS = 30;


export const TRIGGER_TYPES = ['push', 'tag', 'pr', 'webhook', 'generic_webhook'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

export const JOB_NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REGEX_FLAGS_PATTERN = /^(?!.*(.).*\1)[dgimsuvy]*$/;

const nonEmpty = () => z.string().min(1, { error: 'must not be empty' });
const positiveMs = () => z.int().positive();

// ---- patterns ------------------------------------------------------------------------------

const regexPatternSchema = z
  .strictObject({
    regex: nonEmpty(),
    flags: z.string().optional(),
  })
  .check((ctx) => {
    if (ctx.issues.length > 0) return;
    const { regex, flags } = ctx.value;
    if (flags !== undefined && !REGEX_FLAGS_PATTERN.test(flags)) {
      ctx.issues.push({ code: 'custom', message: 'invalid regular expression flags', path: ['flags'], input: flags });
      return;
    }
    try {
      new RegExp(regex, flags);
    } catch {
      ctx.issues.push({ code: 'custom', message: 'invalid regular expression', path: ['regex'], input: regex });
    }
  });

const globSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .refine((s) => s !== '!', { error: 'a "!" needs a pattern after it' });

/** A string is a picomatch glob (a leading `!` excludes); an object is a regular expression. */
export const patternSchema = z.union([globSchema, regexPatternSchema]).meta({
  id: 'KiciPattern',
  description: 'A picomatch glob (a leading "!" excludes) or { "regex", "flags" }.',
});
export type Pattern = z.output<typeof patternSchema>;
export type RegexPattern = z.output<typeof regexPatternSchema>;

/** runsOn: a string is an exact label, `{ regex }` matches any one label. */
export const labelMatcherSchema = z.union([nonEmpty(), regexPatternSchema]).meta({
  id: 'KiciLabelMatcher',
  description: 'An exact agent label, or { "regex", "flags" } matching any one label.',
});
export type LabelMatcher = z.output<typeof labelMatcherSchema>;

const patternList = () => z.array(patternSchema).default([]);
const nameList = () => z.array(nonEmpty()).default([]);

// ---- triggers ------------------------------------------------------------------------------

const pushTriggerSchema = z.strictObject({
  _type: z.literal('push'),
  branches: patternList(),
  paths: patternList(),
});

const tagTriggerSchema = z.strictObject({
  _type: z.literal('tag'),
  patterns: patternList(),
});

const prTriggerSchema = z.strictObject({
  _type: z.literal('pr'),
  events: nameList(),
  targetBranches: patternList(),
  sourceBranches: patternList(),
  paths: patternList(),
});

const webhookTriggerSchema = z.strictObject({
  _type: z.literal('webhook'),
  events: nameList(),
  actions: nameList(),
});

const genericWebhookTriggerSchema = z.strictObject({
  _type: z.literal('generic_webhook'),
  source: nonEmpty(),
  events: nameList(),
});

export const triggerSchema = z.discriminatedUnion('_type', [
  pushTriggerSchema,
  tagTriggerSchema,
  prTriggerSchema,
  webhookTriggerSchema,
  genericWebhookTriggerSchema,
]);

export type PushTrigger = z.output<typeof pushTriggerSchema>;
export type TagTrigger = z.output<typeof tagTriggerSchema>;
export type PrTrigger = z.output<typeof prTriggerSchema>;
export type WebhookTrigger = z.output<typeof webhookTriggerSchema>;
export type GenericWebhookTrigger = z.output<typeof genericWebhookTriggerSchema>;
export type Trigger = z.output<typeof triggerSchema>;

// ---- steps ---------------------------------------------------------------------------------

const envSchema = z.record(
  z.string().regex(ENV_NAME_PATTERN, { error: 'invalid environment variable name' }),
  z.string(),
);

const retrySchema = z.strictObject({
  maxAttempts: z.int().min(1),
  delayMs: z.int().min(0).default(0),
  backoff: z.enum(['fixed', 'exponential']).default('fixed'),
  maxDelayMs: z.int().min(0).optional(),
});
export type Retry = z.output<typeof retrySchema>;

const workingDirectorySchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .refine((dir) => !dir.startsWith('/') && !dir.split(/[\\/]/).includes('..'), {
    error: 'must stay inside the checkout (relative, no "..")',
  });

/**
 * A secret a step names: it reaches the step as an environment variable of that name, so it must
 * be one, and never a `KICI_*` name (run metadata, which nothing may override).
 */
const secretName = nonEmpty()
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits and "_", not starting with a digit)')
  .refine((name) => !name.toUpperCase().startsWith('KICI_'), 'KICI_* names (in any case) are run metadata, which a secret may not replace');

export const stepSchema = z.strictObject({
  name: nonEmpty().optional(),
  run: nonEmpty(),
  shell: nonEmpty().default(LOCKFILE_DEFAULTS.stepShell),
  env: envSchema.default({}),
  workingDirectory: workingDirectorySchema.optional(),
  timeout: positiveMs().default(LOCKFILE_DEFAULTS.stepTimeoutMs),
  retry: retrySchema.optional(),
  continueOnError: z.boolean().default(LOCKFILE_DEFAULTS.stepContinueOnError),
  secrets: z.array(secretName).optional(),
});
export type Step = z.output<typeof stepSchema>;

// ---- jobs ----------------------------------------------------------------------------------

const needsEntrySchema = z.union([
  nonEmpty(),
  z.strictObject({
    name: nonEmpty(),
    runOn: z.array(z.enum(TERMINAL_JOB_STATUSES)).min(1).default(['success']),
  }),
]);
export type NeedsEntry = z.output<typeof needsEntrySchema>;

const matrixEntrySchema = z.record(nonEmpty(), z.string());
export type MatrixEntry = Record<string, string>;

/** Every key but `include` and `exclude` is a dimension with its list of values. */
export const matrixSchema = z
  .object({
    include: z.array(matrixEntrySchema).optional(),
    exclude: z.array(matrixEntrySchema).optional(),
  })
  .catchall(z.array(z.string()));
export interface Matrix {
  include?: MatrixEntry[];
  exclude?: MatrixEntry[];
  [dimension: string]: string[] | MatrixEntry[] | undefined;
}

export const jobSchema = z.strictObject({
  name: z.string().regex(JOB_NAME_PATTERN, { error: 'must match [A-Za-z0-9_.-]+' }),
  runsOn: z.array(labelMatcherSchema).default([]),
  needs: z.array(needsEntrySchema).default([]),
  matrix: matrixSchema.optional(),
  env: envSchema.default({}),
  environments: z.array(nonEmpty()).optional(),
  concurrencyGroup: nonEmpty().optional(),
  timeout: positiveMs().default(LOCKFILE_DEFAULTS.jobTimeoutMs),
  gracePeriod: z.int().min(0).max(MAX_GRACE_PERIOD_SECONDS).default(LOCKFILE_DEFAULTS.jobGracePeriodSeconds),
  checkout: z.boolean().default(LOCKFILE_DEFAULTS.jobCheckout),
  steps: z.array(stepSchema).min(1),
});
export type Job = Omit<z.output<typeof jobSchema>, 'matrix'> & { matrix?: Matrix };

// ---- workflows -----------------------------------------------------------------------------

const concurrencySchema = z.strictObject({
  group: nonEmpty(),
  cancelInProgress: z.boolean().default(LOCKFILE_DEFAULTS.concurrencyCancelInProgress),
  max: z.int().min(1).default(LOCKFILE_DEFAULTS.concurrencyMax),
});
export type Concurrency = z.output<typeof concurrencySchema>;

export const workflowSchema = z.strictObject({
  name: nonEmpty(),
  triggers: z.array(triggerSchema).default([]),
  jobs: z.array(jobSchema).min(1),
  timeout: positiveMs().optional(),
  concurrency: concurrencySchema.optional(),
});
export type Workflow = Omit<z.output<typeof workflowSchema>, 'jobs'> & { jobs: Job[] };

export const lockfileSchema = z
  .strictObject({
    schemaVersion: z.literal(LOCKFILE_SCHEMA_VERSION),
    workflows: z.array(workflowSchema).min(1),
  })
  .check((ctx) => {
    // Cross-field rules assume a well-formed document; a structural error is reported first.
    if (ctx.issues.length > 0) return;
    for (const violation of lockfileRuleViolations(ctx.value as Lockfile)) {
      ctx.issues.push({ code: 'custom', message: violation.reason, path: violation.path, input: undefined });
    }
  })
  .meta({
    title: 'kici lock file',
    description: 'The contents of .kici/kici.lock.json: workflows, their triggers and jobs.',
  });

export type Lockfile = { schemaVersion: typeof LOCKFILE_SCHEMA_VERSION; workflows: Workflow[] };
export type LockfileInput = z.input<typeof lockfileSchema>;

/** JSON Schema of the lock file for editors (`kici-admin lockfile schema`); input side, so defaulted fields are optional. */
export function lockfileJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(lockfileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
