/**
 * The port GitHub deliveries need and this room does not implement: the lock file of a GitHub
 * source's repository at a commit, read through the GitHub API with the App's installation token
 * (the GitHub client, src/github/, implements it; the composition root wires it). Until it is
 * wired, a GitHub delivery is kept `received` (retryable, the sweep comes back to it) with
 * `GITHUB_API_NOT_WIRED` as its error in the event log: never dropped, and never a run without its
 * lock file.
 */
import type { Source } from '../store/index.js';
import type { LockfileAt } from '../workflows/index.js';

export interface GithubLockfileRequest {
  /** `owner/name`, from the delivery's `repository.full_name`. */
  repo: string;
  /** The full commit sha the lock file is read at (`.kici/kici.lock.json`). */
  sha: string;
  /** The App installation the delivery came through (`installation.id`), when the payload names it. */
  installationId?: number;
}

export interface GithubLockfiles {
  /**
   * `{ kind: 'missing' }` when the repository has no lock file at that commit (a 404: no run). A
   * failure worth retrying (5xx, a timeout, a rate limit) is thrown as `DeliveryRetryLater`; any
   * other error fails the delivery.
   */
  readAt(source: Source, request: GithubLockfileRequest): Promise<LockfileAt>;
}

export const GITHUB_API_NOT_WIRED = 'GitHub API access is not wired yet';

/**
 * Processing cannot finish now but may later: the delivery stays `received` (the owner's sweep
 * resumes it) and `reason` is its error in the event log until then.
 */
export class DeliveryRetryLater extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DeliveryRetryLater';
  }
}
