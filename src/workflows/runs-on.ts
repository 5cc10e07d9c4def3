/**
 * Whether an agent's labels satisfy a job's `runsOn`: every matcher must be met; a string is an
 * exact label, a regex must match at least one label. The one definition, used by dispatch and by
 * whatever explains why a job waits.
 */
import type { LabelMatcher } from './lockfile-schema.js';

const compiled = new Map<string, RegExp>();

// Lock files are validated before they get here, so the pattern compiles; cached because matching
// runs for every agent on every dispatch.
function regexOf(m: { regex: string; flags?: string }): RegExp {
  const key = `${m.flags ?? ''}/${m.regex}`;
  let re = compiled.get(key);
  if (!re) {
    // Stateful flags would make `test` remember the last match between agents.
    re = new RegExp(m.regex, (m.flags ?? '').replace(/[gy]/g, ''));
    compiled.set(key, re);
  }
  return re;
}

export function labelsSatisfy(runsOn: readonly LabelMatcher[] | undefined, labels: readonly string[]): boolean {
  if (!runsOn) return true;
  return runsOn.every((m) => (typeof m === 'string' ? labels.includes(m) : labels.some((l) => regexOf(m).test(l))));
}

/** `linux, /^gpu/i`, for messages that say which agents a job waits for. */
export function describeMatchers(runsOn: readonly LabelMatcher[] | undefined): string {
  if (!runsOn || runsOn.length === 0) return '(any agent)';
  return runsOn.map((m) => (typeof m === 'string' ? m : `/${m.regex}/${m.flags ?? ''}`)).join(', ');
}
