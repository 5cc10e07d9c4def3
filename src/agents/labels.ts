/**
 * Label routing: a job's `runsOn` lists matchers that the agent must ALL satisfy. A string must
 * equal one of the agent's labels; `{ regex }` must match at least one of them.
 */
export type LabelMatcher = string | { regex: string; flags?: string };

const compiled = new Map<string, RegExp>();

function regexOf(m: { regex: string; flags?: string }): RegExp {
  const key = `${m.flags ?? ''}/${m.regex}`;
  let re = compiled.get(key);
  if (!re) {
    // Lock files are validated before they get here, so the pattern compiles; cache it because
    // matching runs for every agent on every dispatch.
    re = new RegExp(m.regex, (m.flags ?? '').replace(/[gy]/g, ''));
    compiled.set(key, re);
  }
  return re;
}

export function agentSatisfies(labels: readonly string[], runsOn: readonly LabelMatcher[] | undefined): boolean {
  if (!runsOn || runsOn.length === 0) return true;
  return runsOn.every((m) => (typeof m === 'string' ? labels.includes(m) : labels.some((l) => regexOf(m).test(l))));
}

export function describeMatchers(runsOn: readonly LabelMatcher[] | undefined): string {
  if (!runsOn || runsOn.length === 0) return '(any agent)';
  return runsOn.map((m) => (typeof m === 'string' ? m : `/${m.regex}/${m.flags ?? ''}`)).join(', ');
}
