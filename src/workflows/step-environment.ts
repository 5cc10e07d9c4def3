/**
 * Pure derivations of the step environment that both the agent and the orchestrator need:
 * matrix variables, upstream outputs as variables and as the KICI_NEEDS_FILE document, and the
 * parsing of a step's KICI_OUTPUT file.
 */

/** The run metadata every step sees (LOCKFILE.md "What a step sees"); a lock file cannot override them. */
export const STEP_METADATA_VARIABLES = [
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
  'KICI_OUTPUT',
  'KICI_NEEDS_FILE',
] as const;

/** Metadata variables named by the lock file: `KICI_MATRIX_<DIM>`, `KICI_NEEDS_<JOB>_<KEY>`. */
export const STEP_METADATA_PREFIXES = ['KICI_MATRIX_', 'KICI_NEEDS_'] as const;

/** Upper-cased, every non-alphanumeric as `_`: `node-version` → `NODE_VERSION`. */
export function envNamePart(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

export function matrixEnv(matrix: Record<string, string> | null | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [dimension, value] of Object.entries(matrix ?? {})) env[`KICI_MATRIX_${envNamePart(dimension)}`] = value;
  return env;
}

/** One finished upstream job (or matrix child) as the orchestrator knows it. */
export interface UpstreamResult {
  /** Planned job name (`test (20, 1)` for a matrix child). */
  name: string;
  baseName: string;
  /** Matrix values for a matrix child; null or absent otherwise. */
  matrix?: Record<string, string> | null;
  status: string;
  outputs: Record<string, string>;
}

export interface NeedsFileChild {
  status: string;
  outputs: Record<string, string>;
}

export interface NeedsFileJob extends NeedsFileChild {
  children: Record<string, NeedsFileChild>;
}

export type NeedsFile = Record<string, NeedsFileJob>;

/** `KICI_NEEDS_<JOB>_<KEY>` for every upstream output; a matrix upstream gives the last child's value in name order. */
export function needsEnv(upstreams: UpstreamResult[]): Record<string, string> {
  return needsEnvFromFile(needsFile(upstreams));
}

/**
 * The same variables from a KICI_NEEDS_FILE document (what an agent receives). A matrix job's
 * children are merged in name order under its own outputs, so a document whose job-level outputs
 * were left empty still yields the last child's values.
 */
export function needsEnvFromFile(file: Record<string, { outputs?: Record<string, string>; children?: Record<string, { outputs?: Record<string, string> }> }> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [job, entry] of Object.entries(file ?? {})) {
    const merged: Record<string, string> = {};
    const children = entry.children ?? {};
    for (const name of Object.keys(children).sort(byCodeUnits)) Object.assign(merged, children[name]?.outputs ?? {});
    Object.assign(merged, entry.outputs ?? {});
    for (const [key, value] of Object.entries(merged)) env[`KICI_NEEDS_${envNamePart(job)}_${envNamePart(key)}`] = value;
  }
  return env;
}

/** The JSON document behind KICI_NEEDS_FILE, keyed by the lock file's job names. */
export function needsFile(upstreams: UpstreamResult[]): NeedsFile {
  const file: NeedsFile = {};
  const groups = groupByBase(upstreams);
  for (const baseName of [...groups.keys()].sort(byCodeUnits)) {
    const members = groups.get(baseName)!.sort((a, b) => byCodeUnits(a.name, b.name));
    const isMatrix = members.some((member) => member.matrix != null);
    const outputs: Record<string, string> = {};
    for (const member of members) Object.assign(outputs, member.outputs);
    const children: Record<string, NeedsFileChild> = {};
    if (isMatrix) {
      for (const member of members) children[member.name] = { status: member.status, outputs: { ...member.outputs } };
    }
    file[baseName] = { status: groupStatus(members.map((m) => m.status)), outputs, children };
  }
  return file;
}

/**
 * One status for a matrix job, in the order a run's outcome is decided: any failure fails it,
 * then any cancel cancels it; all skipped is skipped; anything else (success, some skipped) succeeds.
 */
export function groupStatus(statuses: string[]): string {
  if (statuses.length === 1) return statuses[0];
  if (statuses.some((s) => s === 'failed' || s === 'timed_out_stale' || s === 'drift_dropped')) return 'failed';
  if (statuses.some((s) => s === 'cancelled')) return 'cancelled';
  if (statuses.length > 0 && statuses.every((s) => s === 'skipped')) return 'skipped';
  const unfinished = statuses.find((s) => s !== 'success' && s !== 'skipped');
  return unfinished ?? 'success';
}

/** `key=value` lines of a KICI_OUTPUT file; a later line wins, blank lines and lines without `=` are ignored. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at).trim();
    if (key === '') continue;
    outputs.set(key, line.slice(at + 1));
  }
  return Object.fromEntries(outputs);
}

function groupByBase(upstreams: UpstreamResult[]): Map<string, UpstreamResult[]> {
  const groups = new Map<string, UpstreamResult[]>();
  for (const upstream of upstreams) groups.set(upstream.baseName, [...(groups.get(upstream.baseName) ?? []), upstream]);
  return groups;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
