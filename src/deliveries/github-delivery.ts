/**
 * Deciding a GitHub delivery: the lock file at the event's commit, read through the GitHub API (the
 * `github` port), decides what runs. An event that names no commit (a release, a created ref, a
 * manual dispatch, a comment) runs at the commit its ref names now, or the default branch's tip. A
 * pull request's author is given a trust tier first: only a trusted author's head lock file is used,
 * anyone else's runs under the base commit's (github-trust.ts). Without the port the delivery
 * waits, retryable.
 */
import type { Source } from '../store/index.js';
import { LOCKFILE_PATH, needsChangedFiles, type CiEvent, type Lockfile, type LockfileAt, type LockfileReader } from '../workflows/index.js';
import { decided, type Decision } from './decision.js';
import { DeliveryRetryLater, GITHUB_API_NOT_WIRED, type GithubLockfileRequest, type GithubRepoRequest, type GithubRepos } from './github-repos.js';
import { lockfileCommit, trustOfPermission } from './github-trust.js';
import type { DeliveryMetrics } from './metrics.js';
import type { RunOrigin } from './run-creation.js';

/** What deciding shares with the rest of delivery processing. */
export interface GithubDecisionParts {
  github: GithubRepos | undefined;
  lockfiles: Pick<LockfileReader, 'parse'>;
  metrics: Pick<DeliveryMetrics, 'lockfileCacheHits' | 'lockfileCacheMisses'>;
  /** Record the workflows of a push to the default branch (generic deliveries run them). */
  register(source: Source, sha: string, lockfile: Lockfile): Promise<void>;
  /** The lock file's workflows matched against the event: one planned run per match. */
  matched(lockfile: Lockfile, event: CiEvent, origin: RunOrigin): Decision;
  /** A lock file that does not parse: the failed run that reports it. */
  corrupt(origin: RunOrigin, error: string): Decision;
}

export class GithubDeliveries {
  constructor(private readonly parts: GithubDecisionParts) {}

  async decide(delivery: { deliveryId: string }, source: Source, event: CiEvent): Promise<Decision> {
    const github = this.parts.github;
    if (!github) throw new DeliveryRetryLater(GITHUB_API_NOT_WIRED);
    if (!event.repo) return decided({ status: 'failed', error: 'the GitHub payload names no repository', matchedCount: 0 });
    const repo = { repo: event.repo, installationId: event.installationId };
    if (!event.sha) await pinCommit(github, source, event, repo);
    if (event.pullRequest) event.pullRequest.trustTier = trustOfPermission(await github.permission(source, { ...repo, user: event.pullRequest.author }));
    const sha = event.sha!;
    const lockSha = lockfileCommit(event);
    const lock = await this.lockfileAt(github, source, { ...repo, sha: lockSha });
    if (lock.kind === 'missing') return decided({ status: 'lockfile_missing', matchedCount: 0, trace: { summary: `no ${LOCKFILE_PATH} at ${lockSha} in ${event.repo}: nothing to run` } });
    const origin: RunOrigin = { orgId: source.orgId, sourceId: source.id, deliveryId: delivery.deliveryId, repoUrl: cloneUrl(event), sha, ref: event.ref, branch: event.branch, event };
    const parsed = this.parts.lockfiles.parse(lock);
    if (!parsed.ok) return this.parts.corrupt(origin, parsed.error);
    const lockfile = parsed.lockfile;
    const defaultBranch = defaultBranchOf(event.payload);
    if (event.type === 'push' && defaultBranch !== undefined && event.branch === defaultBranch) await this.parts.register(source, sha, lockfile);
    if (needsChangedFiles(lockfile)) await changedFilesOf(github, source, event, repo);
    return this.parts.matched(lockfile, event, origin);
  }

  /** The lock file through the API, counted as a hit or a miss of the client's cache. */
  private async lockfileAt(github: GithubRepos, source: Source, request: GithubLockfileRequest): Promise<LockfileAt> {
    const lock = await github.readAt(source, request);
    (lock.cached ? this.parts.metrics.lockfileCacheHits : this.parts.metrics.lockfileCacheMisses).inc();
    return lock;
  }
}

/** The commit an event without one runs at: what its ref names now, else the default branch's tip. */
async function pinCommit(github: GithubRepos, source: Source, event: CiEvent, repo: GithubRepoRequest): Promise<void> {
  const tip = await github.commitAt(source, { ...repo, ref: event.ref });
  event.sha = tip.sha;
  if (event.ref === undefined) {
    event.ref = tip.ref;
    event.branch ??= tip.ref.replace(/^refs\/heads\//, '');
  }
}

/** A push names its changed files; a pull request's come from the API (an incomplete list is said so). */
async function changedFilesOf(github: GithubRepos, source: Source, event: CiEvent, repo: GithubRepoRequest): Promise<void> {
  if (event.type === 'push') {
    event.changedFiles = pushedFiles(event.payload);
  } else if (event.pullRequest) {
    const listed = await github.pullRequestFiles(source, { ...repo, number: event.pullRequest.number });
    event.changedFiles = listed.files;
    if (listed.capped) event.changedFilesIncomplete = true;
  }
}

/** Where agents clone from: the payload's `clone_url` (GitHub Enterprise has its own host), else github.com. */
function cloneUrl(event: CiEvent): string {
  const url = (event.payload as { repository?: { clone_url?: unknown } } | null)?.repository?.clone_url;
  return typeof url === 'string' && /^https?:\/\/[^\s]+$/.test(url) ? url : `https://github.com/${event.repo}.git`;
}

function defaultBranchOf(payload: unknown): string | undefined {
  const repo = (payload as { repository?: { default_branch?: unknown } } | null)?.repository;
  return typeof repo?.default_branch === 'string' ? repo.default_branch : undefined;
}

/** The files a GitHub push touched, from its commits' added, modified and removed lists. */
function pushedFiles(payload: unknown): string[] {
  const commits = (payload as { commits?: unknown } | null)?.commits;
  const files = new Set<string>();
  if (!Array.isArray(commits)) return [];
  for (const c of commits as Record<string, unknown>[]) {
    for (const key of ['added', 'modified', 'removed']) {
      const list = c?.[key];
      if (Array.isArray(list)) for (const f of list) if (typeof f === 'string') files.add(f);
    }
  }
  return [...files].sort();
}
