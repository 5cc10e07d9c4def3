/**
 * A manual run of a GitHub source's repository: `repo` names which one (an App covers many), the
 * ref becomes a commit through the GitHub API (a branch as `refs/heads/B`; a full commit id as it
 * is), the lock file is read there, and agents clone from the repository's own clone URL. The
 * event is `manual` with no author, so no trust tier applies: an operator asked for it.
 */
import type { Source } from '../store/index.js';
import type { CiEvent } from '../workflows/index.js';
import { TriggerRefused } from './errors.js';
import { DeliveryRetryLater } from './github-repos.js';
import { checkedLockfile, createManualRuns } from './manual-runs.js';
import type { ManualTriggerDeps, TriggerInput, TriggerResult } from './manual-trigger.js';
import type { RunOrigin } from './run-creation.js';

const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const FULL_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

export async function triggerGithubRuns(deps: ManualTriggerDeps, source: Source, input: TriggerInput): Promise<TriggerResult> {
  const github = deps.github;
  if (!github) throw new TriggerRefused('not_a_git_source', 'this node cannot reach the GitHub API');
  if (!input.repo || !REPO.test(input.repo)) throw new TriggerRefused('invalid_ref', 'a GitHub source covers many repositories: name one as --repo owner/name');
  const repo = { repo: input.repo };
  const { sha, branch } = await resolved(() => resolveGithubRef(deps, source, repo, input.ref));
  const lockfile = checkedLockfile(deps, await resolved(() => github.readAt(source, { ...repo, sha })), sha);
  const repoUrl = await resolved(() => github.cloneUrl(source, repo));
  const event: CiEvent = { type: 'manual', sha, sourceKind: 'github', repo: input.repo, ...(branch ? { branch, ref: `refs/heads/${branch}` } : {}) };
  const origin: RunOrigin = { orgId: source.orgId, sourceId: source.id, deliveryId: null, repoUrl, sha, ref: event.ref, branch: branch ?? undefined, event };
  return { sourceId: source.id, sha, branch, runs: await createManualRuns(deps, origin, lockfile, branch, sha) };
}

async function resolveGithubRef(deps: ManualTriggerDeps, source: Source, repo: { repo: string }, ref: string): Promise<{ sha: string; branch: string | null }> {
  if (FULL_SHA.test(ref)) return { sha: ref, branch: null };
  const name = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
  try {
    const tip = await deps.github!.commitAt(source, { ...repo, ref: `refs/heads/${name}` });
    return { sha: tip.sha, branch: name };
  } catch (error) {
    if (error instanceof DeliveryRetryLater) throw new TriggerRefused('github_unavailable', `GitHub could not answer now; try again: ${error.reason}`);
    throw new TriggerRefused('ref_not_found', `no branch ${JSON.stringify(name)} in ${repo.repo} (${(error as Error).message})`);
  }
}

/** GitHub unreachable (5xx, a timeout) is said as such; any other answer (not installed, not visible) refuses the trigger with it. */
async function resolved<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof DeliveryRetryLater) throw new TriggerRefused('github_unavailable', `GitHub could not answer now; try again: ${error.reason}`);
    if (error instanceof TriggerRefused) throw error;
    throw new TriggerRefused('ref_not_found', (error as Error).message);
  }
}
