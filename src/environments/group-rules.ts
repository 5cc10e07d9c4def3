/**
 * A group's rules as the environments say now. A group learns its limit from the requests of the
 * jobs that ask (each carries the rules its run read), so a change an operator makes — a paused
 * environment given a limit again, a limit raised — would reach the waiters only with the next
 * request. Reading the environment's rules whenever the group rebuilds from the store makes the
 * change take effect at the next rebuild, newest rules winning as always (`rulesAt`).
 */
import type { StoredEnvGroup } from './env-group-actor.js';
import type { GroupSettings } from './env-group.js';
import type { Environment } from './environment.js';
import { matchEnvironment } from './matching.js';

/** The rules of the environment a group is named after, when it has a limit; undefined otherwise (a job's own `concurrencyGroup`). */
export function currentGroupRules(environments: readonly Environment[], group: string): GroupSettings | undefined {
  const environment = matchEnvironment(environments, group)?.environment;
  if (!environment || environment.concurrencyLimit === null) return undefined;
  return { limit: environment.concurrencyLimit, strategy: environment.concurrencyStrategy, rulesAt: environment.updatedAt.getTime() };
}

/** The stored group with the environment's current rules, when they are newer than what its jobs read. */
export function withCurrentRules(stored: StoredEnvGroup, rules: GroupSettings | undefined): StoredEnvGroup {
  if (!rules) return stored;
  const known = stored.settings?.rulesAt ?? Number.NEGATIVE_INFINITY;
  return (rules.rulesAt ?? 0) >= known ? { ...stored, settings: rules } : stored;
}
