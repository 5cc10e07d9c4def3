/**
 * The port GitHub deliveries need and this room does not implement: a GitHub source's repository
 * read through the GitHub API with the App's installation token — the lock file at a commit, the
 * commit a ref names (for events that name none), a pull request's changed files. The GitHub client
 * (src/github/) implements it; the composition root wires it. Until it is wired, a GitHub delivery
 * is kept `received` (retryable, the sweep comes back to it) with `GITHUB_API_NOT_WIRED` as its
 * error in the event log: never dropped, and never a run without its lock file.
 */
import type { Source } from '../store/index.js';
import type { LockfileAt } from '../workflows/index.js';

export interface GithubRepoRequest {
  /** `owner/name`, from the delivery's `repository.full_name`. */
  repo: string;
  /** The App installation the delivery came through (`installation.id`), when the payload names it. */
  installationId?: number;
}

export interface GithubLockfileRequest extends GithubRepoRequest {
  /** The full commit sha the lock file is read at (`.kici/kici.lock.json`). */
  sha: string;
}

/** Every method throws `DeliveryRetryLater` for a failure worth retrying (5xx, a timeout, a rate limit); any other error fails the delivery. */
export interface GithubRepos {
  /**
   * `{ kind: 'missing' }` when the repository has no lock file at that commit (a 404: no run);
   * `cached` says the client answered from its cache (the lock-file cache metrics count it).
   */
  readAt(source: Source, request: GithubLockfileRequest): Promise<LockfileAt & { cached?: boolean }>;
  /** The commit `ref` names now (`refs/heads/B`, `refs/tags/T`); without a ref, the default branch's tip (`ref` is then `refs/heads/<default>`). */
  commitAt(source: Source, request: GithubRepoRequest & { ref?: string }): Promise<{ ref: string; sha: string }>;
  /** `user`'s role in the repository (`admin` … `none`), checked against the numeric id the webhook named. */
  permission(source: Source, request: GithubRepoRequest & { user: { login: string; id: number } }): Promise<string>;
  /** Where the repository clones from (a manual run has no webhook payload to say it). */
  cloneUrl(source: Source, request: GithubRepoRequest): Promise<string>;
  /** The files a pull request changes; `capped` when GitHub stopped listing (3000 files). */
  pullRequestFiles(source: Source, request: GithubRepoRequest & { number: number }): Promise<{ files: string[]; capped: boolean }>;
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
