import type { JobDispatch, NeededJob, StepConfig } from '../transport/index.js';

/**
 * The environment a step sees, per DESIGN §5b. Written here because the workflows room's pure
 * helpers did not exist yet; the rules are the same: later layers win, KICI_* metadata last.
 */

/** The only names taken from the agent's own environment: nothing secret lives in these. */
export const HOST_ALLOWLIST = ['PATH', 'HOME', 'USER', 'SHELL', 'LANG', 'LC_ALL', 'TERM', 'TMPDIR', 'TZ'] as const;

const RESERVED_NAMES = new Set([
  'KICI_RUN_ID',
  'KICI_JOB_ID',
  'KICI_JOB_NAME',
  'KICI_WORKFLOW',
  'KICI_ATTEMPT',
  'KICI_EVENT',
  'KICI_REPO',
  'KICI_REF',
  'KICI_BRANCH',
  'KICI_SHA',
  'KICI_NEEDS_FILE',
  'KICI_OUTPUT',
]);

/** Names a step's own layers may not set, so run metadata cannot be spoofed by a lock file. */
export function isReservedName(name: string): boolean {
  return RESERVED_NAMES.has(name) || name.startsWith('KICI_MATRIX_') || name.startsWith('KICI_NEEDS_');
}

/** `node-version` → `NODE_VERSION`: upper case, every non-alphanumeric as `_`. */
export function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

export function matrixEnv(matrix: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [dim, value] of Object.entries(matrix ?? {})) out[`KICI_MATRIX_${envName(dim)}`] = value;
  return out;
}

/**
 * KICI_NEEDS_<JOB>_<KEY> for every output of every upstream. For a matrix upstream the value of the
 * last child in name order wins, unless the orchestrator already merged them into `outputs`.
 */
export function needsEnv(needs: Record<string, NeededJob> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [job, upstream] of Object.entries(needs ?? {})) {
    for (const [key, value] of Object.entries(mergedOutputs(upstream))) {
      out[`KICI_NEEDS_${envName(job)}_${envName(key)}`] = value;
    }
  }
  return out;
}

function mergedOutputs(upstream: NeededJob): Record<string, string> {
  const merged: Record<string, string> = {};
  const children = upstream.children ?? {};
  for (const name of Object.keys(children).sort()) Object.assign(merged, children[name]?.outputs ?? {});
  return Object.assign(merged, upstream.outputs ?? {});
}

/** `key=value` lines of a KICI_OUTPUT file; the value is everything after the first `=`. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    if (key) out[key] = line.slice(eq + 1);
  }
  return out;
}

type EnvLayer = Record<string, string | number | boolean> | undefined;

export interface StepEnvironmentInput {
  host: NodeJS.ProcessEnv;
  dispatch: JobDispatch;
  step: StepConfig;
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
  for (const layer of [dispatch.env, dispatch.jobConfig.env, step.env] as EnvLayer[]) {
    for (const [name, value] of Object.entries(layer ?? {})) {
      if (!isReservedName(name)) env[name] = String(value);
    }
  }
  return Object.assign(env, stepMetadata(input));
}

function stepMetadata({ dispatch, needsFile, outputFile }: StepEnvironmentInput): Record<string, string> {
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
  return meta;
}
