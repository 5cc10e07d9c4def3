/**
 * Why a rerun or a manual trigger was refused, in the language of runs and sources. The room does
 * not speak HTTP: the admin API maps each refusal to its status and code (`admin/api/refusals.ts`).
 * A rerun the run's plan refuses (still running, nothing failed) is the runs room's
 * `RerunRefusedError`.
 */

/** The run asked for does not exist. */
export class RunNotFound extends Error {
  constructor(readonly runId: string) {
    super(`no run ${runId}`);
    this.name = 'RunNotFound';
  }
}

/** The run failed before it had jobs (a bad lock file): there is nothing stored to run again. */
export class NothingToRerun extends Error {
  constructor(readonly runId: string) {
    super('the run failed before any job was created; fix the lock file and push again');
    this.name = 'NothingToRerun';
  }
}

/** Why a source cannot be triggered by hand: it does not exist, has no commits, or is disabled. */
export class TriggerRefused extends Error {
  constructor(
    readonly reason: 'source_not_found' | 'not_a_git_source' | 'source_disabled' | 'invalid_ref' | 'ref_not_found' | 'github_unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'TriggerRefused';
  }
}

/** The lock file at the resolved commit is missing or invalid: no run is created, the operator reads why. */
export class LockfileUnusable extends Error {
  constructor(
    readonly reason: 'lockfile_missing' | 'lockfile_corrupt',
    message: string,
  ) {
    super(message);
    this.name = 'LockfileUnusable';
  }
}
