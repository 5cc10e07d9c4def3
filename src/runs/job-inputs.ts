/**
 * What a job's steps are given beyond the lock file: the variables of the environments it names
 * (with the source's overrides) and the secrets its steps name. Read at every dispatch, never kept:
 * a variable changed or a secret rotated reaches the next dispatch, and a backend that is down
 * fails the job with the reason instead of sending it without its secrets.
 */
import { bindEnvironments } from '../environments/index.js';
import type { EnvironmentLookup } from './gate-ports.js';
import { gatedNames } from './job-gating.js';
import type { RunRecord } from './ports.js';

export interface JobInputs {
  /** The `job.dispatch` frame's `env`: the layer under the job's own `env`. */
  env: Record<string, string>;
  /** The `job.dispatch` frame's `secrets`: each step sees only those it names. */
  secrets: Record<string, string>;
}

export interface JobInputRequest {
  orgId: string;
  /** The source the run came through: its overrides apply. */
  sourceId: string | null;
  /** The job's environments, in its order (later ones win). */
  environmentIds: string[];
  /** Every secret any of its steps names. */
  secretNames: string[];
}

/**
 * Port: resolves a job's inputs. `JobInputsUnavailable` (a secret missing, a backend down or
 * refusing) fails the job with its reason; any other error is this node's trouble (its database
 * went away for a moment) and is thrown on, so the run's actor tries again instead of failing a job
 * that nothing is wrong with.
 */
export interface JobInputSource {
  resolve(request: JobInputRequest): Promise<JobInputs>;
}

/** The job could not be given its inputs; its message is the job's error. */
export class JobInputsUnavailable extends Error {
  constructor(reason: string) {
    super(`the job's variables and secrets could not be resolved: ${reason}`);
    this.name = 'JobInputsUnavailable';
  }
}

/** Every secret name the job's steps name, once each, in the order first named. */
export function secretNamesOf(config: unknown): string[] {
  const steps = (config as { steps?: { secrets?: unknown }[] } | null)?.steps ?? [];
  const names = steps.flatMap((s) => (Array.isArray(s.secrets) ? (s.secrets as string[]) : []));
  return [...new Set(names)];
}

/**
 * The job's inputs, or null when it names no environment and no secret (nothing to resolve), or
 * when this node has no source and the job names no secret. The environments are resolved again by
 * name: the gates passed them, but the records may have changed since.
 */
export async function jobInputs(run: RunRecord, config: unknown, environments: EnvironmentLookup | undefined, source: JobInputSource | undefined): Promise<JobInputs | null> {
  const names = gatedNames(config)?.environments ?? [];
  const secretNames = secretNamesOf(config);
  if (names.length === 0 && secretNames.length === 0) return null;
  // A node without the source (the simulator) gives no variables; secrets it can never skip.
  if (!source && secretNames.length === 0) return null;
  if (!environments || !source) throw new JobInputsUnavailable('this node keeps no secrets');
  const orgId = run.orgId ?? 'default';
  const bound = bindEnvironments(await environments.list(orgId), names);
  const missing = bound.filter((b) => b.environment === null).map((b) => `'${b.name}'`);
  if (missing.length > 0) throw new JobInputsUnavailable(`environment ${missing.join(', ')} is not configured`);
  const environmentIds = bound.map((b) => b.environment!.id);
  return source.resolve({ orgId, sourceId: run.sourceId ?? null, environmentIds, secretNames });
}
