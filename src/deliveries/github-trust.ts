/**
 * Who wrote a pull request, as far as CI trusts them (`../shared` KiCI's three tiers, from the
 * author's role in the repository as GitHub reports it for their numeric id):
 *
 *   trusted   admin, maintain or write: may already push to the repository, so its lock file at the
 *             pull request's head is used as it stands;
 *   known     triage or read: the lock file of the base commit is used (a contributor cannot bring
 *             workflow changes that claim a protected environment), the head's code still runs;
 *   unknown   no role (a fork from a stranger): as `known`, and environments whose `minimum_trust`
 *             is `known` hold its jobs for an approval.
 */
import type { CiEvent } from '../workflows/index.js';

export type AuthorTrust = 'trusted' | 'known' | 'unknown';

export function trustOfPermission(permission: string): AuthorTrust {
  if (permission === 'admin' || permission === 'maintain' || permission === 'write') return 'trusted';
  if (permission === 'triage' || permission === 'read') return 'known';
  return 'unknown';
}

/**
 * The commit whose lock file decides a GitHub event's runs: a pull request's head only for a
 * trusted author, its base otherwise; every other event its own commit.
 */
export function lockfileCommit(event: CiEvent): string {
  if (!event.pullRequest || event.pullRequest.trustTier === 'trusted') return event.sha!;
  const base = (event.payload as { pull_request?: { base?: { sha?: unknown } } } | null)?.pull_request?.base?.sha;
  return typeof base === 'string' && base !== '' ? base : event.sha!;
}
