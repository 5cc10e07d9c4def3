/**
 * The hard gates: `enabled`, then `branch` (with its trigger type and repository filters). They
 * never wait for anything, they reject. Every environment a job names must pass them; each one
 * that does not is reported with its first failing rule, in KiCI's order (enabled, branch, trigger
 * type, repository), so an operator sees every environment at fault at once.
 *
 * Every message starts with `environment protection:` and branch rejections say `branch`, both in
 * lower case: the seed's "recent protection rule rejections" query (`error_message LIKE '%branch%'
 * OR … LIKE '%protection%'`, case-sensitive) must find all of them.
 */
import { globMatches } from './glob.js';
import type { BoundEnvironment, GateEvent } from './gate-types.js';

/** KiCI's reason codes (`protection/aggregate.ts`), kept so its operators can grep for them. */
export type RejectionCode = 'env_not_found' | 'env_disabled' | 'branch_restricted' | 'trigger_filtered' | 'repo_unmatched';

export interface GateRejection {
  /** The name the job asked for. */
  environment: string;
  /** `enabled` for a missing or disabled environment, `branch` for the branch, trigger and repo filters. */
  gate: 'enabled' | 'branch';
  code: RejectionCode;
  detail: string;
}

export const REJECTION_PREFIX = 'environment protection:';

/** The first rule `bound` breaks for `event`, or null when it passes both hard gates. */
export function hardGateRejection(bound: BoundEnvironment, event: GateEvent): GateRejection | null {
  const name = bound.name;
  const env = bound.environment;
  // Fail closed: a misspelt name must not run a deploy unprotected (KiCI skips it at dispatch).
  if (!env) return rejection(name, 'enabled', 'env_not_found', `environment '${name}' is not configured`);
  if (!env.enabled) return rejection(name, 'enabled', 'env_disabled', `environment '${name}' is disabled`);
  if (!allows(env.branchRestrictions, event.branch)) {
    return rejection(name, 'branch', 'branch_restricted', `${refText(event)} is not allowed in environment '${name}' (branch restrictions: ${env.branchRestrictions.join(', ')})`);
  }
  if (!allows(env.triggerTypeFilters, event.type)) {
    return rejection(name, 'branch', 'trigger_filtered', `trigger type '${event.type}' is not allowed in environment '${name}' (trigger type filters: ${env.triggerTypeFilters.join(', ')})`);
  }
  if (!allows(env.repoPatterns, event.repo)) {
    const repo = event.repo === undefined ? 'an event with no repository' : `repository '${event.repo}'`;
    return rejection(name, 'branch', 'repo_unmatched', `${repo} is not allowed in environment '${name}' (repository patterns: ${env.repoPatterns.join(', ')})`);
  }
  return null;
}

/**
 * The one message a rejected job carries. One environment: its detail. Several: KiCI's
 * multi-environment form, `'<env>' rejected (<code>: <detail>)` joined by `; `.
 */
export function rejectionMessage(rejections: readonly GateRejection[]): string {
  if (rejections.length === 1) return `${REJECTION_PREFIX} ${rejections[0]!.detail}`;
  const parts = rejections.map((r) => `'${r.environment}' rejected (${r.code}: ${r.detail})`);
  return `${REJECTION_PREFIX} multi-environment gate: ${parts.join('; ')}`;
}

/** An empty list allows anything; otherwise one glob must match, and a missing value matches none. */
function allows(patterns: readonly string[], value: string | undefined): boolean {
  if (patterns.length === 0) return true;
  return value !== undefined && patterns.some((p) => globMatches(p, value));
}

/** A tag event's `branch` is its tag name: say which it is, but keep the word `branch` in the rule. */
function refText(event: GateEvent): string {
  if (event.branch === undefined) return 'an event with no branch';
  return event.type === 'tag' ? `tag '${event.branch}'` : `branch '${event.branch}'`;
}

function rejection(environment: string, gate: GateRejection['gate'], code: RejectionCode, detail: string): GateRejection {
  return { environment, gate, code, detail };
}
