/**
 * An event as trigger matching sees it, after the webhooks room has normalised a delivery.
 * Git providers fill branch/sha/changed files; generic sources fill sourceName and type.
 */
export type CiEventType = 'push' | 'tag' | 'pull_request' | (string & {});

export interface CiEvent {
  /** `push`, `tag`, `pull_request`, or a generic source's event type. */
  type: CiEventType;
  /** PR action (`opened`, …) or a delivery's action; missing is matched as "". */
  action?: string;
  /** Push branch, tag name for tags, target branch for pull requests. */
  branch?: string;
  /** Pull request head branch. */
  sourceBranch?: string;
  sha?: string;
  before?: string;
  ref?: string;
  repo?: string;
  /** Present only when fetched: a `paths` filter with no changed files fails. */
  changedFiles?: string[];
  /**
   * The provider stopped listing before the end (GitHub lists at most 3000 files of a pull
   * request): a `paths` filter then passes rather than skip a run on a list known to be short.
   */
  changedFilesIncomplete?: boolean;
  /** Name of the source a delivery came through (`generic_webhook` triggers compare it exactly). */
  sourceName?: string;
  /**
   * Kind of that source (`github`, `git`, `generic`). When set, only `generic` deliveries can
   * match a `generic_webhook` trigger, so a git source that shares a generic source's name cannot.
   */
  sourceKind?: 'github' | 'git' | 'generic' | (string & {});
  /**
   * GitHub pull requests, and comments and reviews on them: the number and who opened it. The trust
   * tier is worked out when the delivery is processed (null until then).
   */
  pullRequest?: { number: number; author: { login: string; id: number }; trustTier: string | null };
  /** GitHub deliveries: the App installation they came through (what the API is called with). */
  installationId?: number;
  payload?: unknown;
}
