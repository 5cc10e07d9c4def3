/**
 * What a `viewer` token may call: it reads what the web view shows (runs and their logs, agents,
 * the event log, the cluster, sources and environments) and votes on holds; whether it may vote on
 * a given hold is the hold's own rule (the reviewers it names), decided by the run's actor. Every
 * other route — anything that changes state, and reads of credentials (tokens, peers, secrets,
 * backends, the audit) — is an admin's.
 */
const VIEWER_READS = ['/runs', '/agents', '/event-log', '/cluster/status', '/sources', '/environments'];
const VIEWER_VOTES = /^\/runs\/[^/]+\/(approve|reject)$/;

/** The 403's message, the same from the API and the web view. */
export const VIEWER_REFUSAL = 'a viewer token may read runs, agents, the event log and the cluster, and vote on holds that name it; this needs an admin token';

/** `route` is a path relative to `/api/v1` (a pattern or a concrete path: both work). */
export function viewerMayCall(method: string, route: string): boolean {
  if (method === 'GET' || method === 'HEAD') return VIEWER_READS.some((p) => route === p || route.startsWith(`${p}/`));
  return method === 'POST' && VIEWER_VOTES.test(route);
}
