/**
 * `kici-admin runs trigger --source <id> --ref <branch|sha> [--repo owner/name]`: runs an operator
 * asks for. A GitHub source is an App over many repositories: `repo` names which, and the ref is
 * resolved and the lock file read through the GitHub API (`github-manual-trigger.ts`).
 *
 * The ref is resolved in the source's mirror after a fetch: first as a branch (`main` or
 * `refs/heads/main`), then, if it looks like a commit id (7–64 hex digits), as a commit. The lock
 * file is read at that commit. Which workflows run:
 * - a branch: every workflow whose triggers would match a push of that branch. The event given to
 *   the matcher is push-shaped (`type: push`, the branch, the commit) with no changed files, and
 *   `paths` filters are not applied: nothing was pushed, the operator asked for a run.
 * - a bare commit: every workflow that has at least one push trigger (no branch to match against).
 * The runs themselves record the event type `manual` (`KICI_EVENT=manual`), no delivery, and the
 * branch only when one was given. A lock file that is missing or invalid is refused
 * (`LockfileUnusable`; the admin API answers 422) and creates no run: the operator is there to
 * read the reason. Every refusal is a domain error of `./errors.ts`.
 */
import type { Source, Store } from '../store/index.js';
import { resolveCommit, runGit, type CiEvent, type GitMirrors, type LockfileReader } from '../workflows/index.js';
import { TriggerRefused } from './errors.js';
import { triggerGithubRuns } from './github-manual-trigger.js';
import { checkedLockfile, createManualRuns } from './manual-runs.js';
import type { GithubRepos } from './github-repos.js';
import type { RunCreationDeps, RunOrigin } from './run-creation.js';

export interface ManualTriggerDeps extends RunCreationDeps {
  store: Pick<Store, 'runs' | 'sources'>;
  mirrors: GitMirrors;
  lockfiles: LockfileReader;
  sourceToken(source: Source): Promise<string | null>;
  /** GitHub sources' repositories, through the GitHub API (absent: a GitHub source is refused). */
  github?: GithubRepos;
}

export interface TriggerInput {
  sourceId: string;
  ref: string;
  /** `owner/name`: which repository of a GitHub source (required there, refused elsewhere). */
  repo?: string;
}

export interface TriggerResult {
  sourceId: string;
  sha: string;
  branch: string | null;
  runs: { id: string; workflow: string }[];
}

export const COMMIT_ID = /^[0-9a-f]{7,64}$/i;

export async function triggerRuns(deps: ManualTriggerDeps, input: TriggerInput): Promise<TriggerResult> {
  const source = await deps.store.sources.get(input.sourceId);
  if (!source) throw new TriggerRefused('source_not_found', `no source ${input.sourceId}`);
  if (!source.enabled) throw new TriggerRefused('source_disabled', `source ${source.id} is disabled`);
  if (source.kind === 'github') return triggerGithubRuns(deps, source, input);
  if (source.kind !== 'git' || !source.url) throw new TriggerRefused('not_a_git_source', 'only git and GitHub sources have commits to run; this source has none');
  if (input.repo !== undefined) throw new TriggerRefused('invalid_ref', 'a git source is one repository: --repo is for GitHub sources');
  const token = await deps.sourceToken(source);
  const mirror = await deps.mirrors.syncMirror({ id: source.id, url: source.url, token: token ?? undefined });
  const { sha, branch } = await resolveRef(mirror, input.ref);
  const lockfile = checkedLockfile(deps, await deps.lockfiles.readAt(mirror, sha), sha);
  const event: CiEvent = { type: 'manual', sha, sourceKind: 'git', ...(branch ? { branch, ref: `refs/heads/${branch}` } : {}) };
  const origin: RunOrigin = { orgId: source.orgId, sourceId: source.id, deliveryId: null, repoUrl: source.url, sha, ref: event.ref, branch: branch ?? undefined, event };
  return { sourceId: source.id, sha, branch, runs: await createManualRuns(deps, origin, lockfile, branch, sha) };
}


async function resolveRef(mirror: string, ref: string): Promise<{ sha: string; branch: string | null }> {
  const name = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
  try {
    const onBranch = await resolveCommit(runGit, mirror, `refs/heads/${name}`);
    if (onBranch) return { sha: onBranch, branch: name };
    const commit = COMMIT_ID.test(ref) ? await resolveCommit(runGit, mirror, ref) : null;
    if (commit) return { sha: commit, branch: null };
  } catch (e) {
    throw new TriggerRefused('invalid_ref', (e as Error).message);
  }
  throw new TriggerRefused('ref_not_found', `no branch or commit ${JSON.stringify(ref)} in source's repository`);
}
