/**
 * Whether an agent's labels satisfy a job's `runsOn`: every matcher must be met; a string is an
 * exact label, a regex must match at least one label. Pure, so dispatch and tests agree.
 */
import type { LabelMatcher } from './lockfile-schema.js';

export function labelsSatisfy(runsOn: LabelMatcher[], labels: readonly string[]): boolean {
  return runsOn.every((matcher) =>
    typeof matcher === 'string'
      ? labels.includes(matcher)
      : labels.some((label) => new RegExp(matcher.regex, matcher.flags).test(label)),
  );
}
