import type { JobDispatch, NeededJob, StepConfig } from '../transport/index.js';
import { STEP_METADATA_PREFIXES, STEP_METADATA_VARIABLES, matrixEnv, needsEnvFromFile } from '../workflows/index.js';

/**
 * The environment a step sees, per DESIGN §5b, later layers winning: the host allowlist, the job's
 * environments' variables (with the source's overrides), the job's `env`, the step's `env`, the
 * secrets the step names, and KICI_* metadata last, which nothing overrides.
 */

/** The only names taken from the agent's own environment: nothing secret lives in these. */
export const HOST_ALLOWLIST = ['PATH', 'HOME', 'USER', 'SHELL', 'LANG', 'LC_ALL', 'TERM', 'TMPDIR', 'TZ'] as const;

const RESERVED_NAMES: ReadonlySet<string> = new Set(STEP_METADATA_VARIABLES);

/** Names a step's own layers may not set, so run metadata cannot be spoofed by a lock file. */
export function isReservedName(name: string): boolean {
  return RESERVED_NAMES.has(name) || STEP_METADATA_PREFIXES.some((p) => name.startsWith(p));
}

// The derivations themselves are shared with the orchestrator (src/workflows).
export { envNamePart as envName, matrixEnv, parseOutputFile } from '../workflows/index.js';

/** KICI_NEEDS_<JOB>_<KEY> for every output of every upstream in the dispatch's needs document. */
export function needsEnv(needs: Record<string, NeededJob> | undefined): Record<string, string> {
  return needsEnvFromFile(needs);
}

type EnvLayer = Record<string, string | number | boolean> | undefined;

export interface StepEnvironmentInput {
  host: NodeJS.ProcessEnv;
  dispatch: JobDispatch;
  step: StepConfig;
  /** The step's place in the job (0 is the first step). */
  stepIndex?: number;
  agentId?: string;
  needsFile: string;
  outputFile: string;
}

/** The complete environment of one step attempt, and nothing else. */
export function buildStepEnv(input: StepEnvironmentInput): Record<string, string> {
  const { host, dispatch, step } = input;
  const env: Record<string, string> = {};
  for (const name of HOST_ALLOWLIST) {
    const value = host[name];
    if (value !== undefined) env[name] = value;
  }
  for (const layer of [dispatch.env, dispatch.jobConfig.env, step.env, stepSecrets(dispatch, step)] as EnvLayer[]) {
    for (const [name, value] of Object.entries(layer ?? {})) {
      if (!isReservedName(name)) env[name] = String(value);
    }
  }
  return Object.assign(env, stepMetadata(input));
}

/** The secrets this step names, and no other: the job's other steps may name others. */
function stepSecrets(dispatch: JobDispatch, step: StepConfig): Record<string, string> {
  const named: Record<string, string> = {};
  for (const name of step.secrets ?? []) {
    const value = dispatch.secrets?.[name];
    if (value !== undefined) named[name] = value;
  }
  return named;
}

function stepMetadata({ dispatch, stepIndex, agentId, needsFile, outputFile }: StepEnvironmentInput): Record<string, string> {
  const meta: Record<string, string> = {
    KICI_RUN_ID: dispatch.runId,
    KICI_JOB_ID: dispatch.jobId,
    KICI_JOB_NAME: dispatch.jobName,
    KICI_WORKFLOW: dispatch.workflow,
    KICI_ATTEMPT: String(dispatch.attempt),
    KICI_EVENT: dispatch.event,
    KICI_REPO: dispatch.repo,
    KICI_REF: dispatch.ref,
    KICI_SHA: dispatch.sha,
    ...matrixEnv(dispatch.matrix),
    ...needsEnv(dispatch.needs),
    KICI_NEEDS_FILE: needsFile,
    KICI_OUTPUT: outputFile,
  };
  if (dispatch.branch !== undefined) meta.KICI_BRANCH = dispatch.branch;
  if (stepIndex !== undefined) meta.KICI_STEP_INDEX = String(stepIndex);
  if (agentId !== undefined) meta.KICI_JOB_AGENT = agentId;
  return meta;
}
