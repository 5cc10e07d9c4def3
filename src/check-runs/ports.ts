/**
 * What the reporter needs from the rest of kici. The composition root adapts the github room's
 * client (`GitHubApp`) to `CheckRunApi` and the step-log blobs to `logTail`; nothing here knows
 * HTTP, tokens or the database.
 */
import type { Clock } from '../clock/index.js';
import type { CheckRunFields, NewCheckRun } from '../github/index.js';
import type { JobRecord, RunRecord } from '../runs/index.js';

/** The repository a run's checks go to, and the installation to act as (looked up when absent). */
export interface CheckTarget {
  sourceId: string;
  owner: string;
  repo: string;
  installationId?: number;
}

/** A check run found on a commit; `status` lets a reporter leave a check another node completed alone. */
export interface FoundCheckRun {
  id: number;
  externalId?: string;
  status?: string;
}

export interface CheckRunApi {
  /** `POST /repos/{owner}/{repo}/check-runs`. */
  create(target: CheckTarget, run: NewCheckRun): Promise<{ id: number }>;
  /** `PATCH /repos/{owner}/{repo}/check-runs/{id}`. */
  update(target: CheckTarget, id: number, fields: CheckRunFields): Promise<unknown>;
  /** `GET /repos/{owner}/{repo}/commits/{sha}/check-runs?check_name=`: the checks of that name, newest first. */
  find(target: CheckTarget, sha: string, name: string): Promise<FoundCheckRun[]>;
}

export type CheckRunOperation = 'create' | 'update' | 'find';

export interface CheckRunReporterDeps {
  clock: Clock;
  api: CheckRunApi;
  /** Where the run's checks go; undefined for a run that did not come from GitHub (nothing is reported). */
  targetOf(run: RunRecord): Promise<CheckTarget | undefined>;
  /** A step's last `lines` log lines (fewer, or none, when it logged less). */
  logTail(runId: string, jobId: string, stepIndex: number, lines: number): Promise<string[]>;
  /** The page a check links to (the run, or one job of it). */
  detailsUrl?(run: RunRecord, job?: JobRecord): string | undefined;
  /** One count per GitHub call, for `kici_orch_github_check_run_total{operation,result}`. */
  count?(operation: CheckRunOperation, result: 'ok' | 'error'): void;
  /** A report given up on, or a port that threw; `what` names the check and the call, never a credential. */
  failed?(error: unknown, what: string): void;
  /** Step progress is sent at most once per this window, per check (5000 ms, KiCI's). */
  debounceMs?: number;
}
