/**
 * The glob side of environment names: picomatch with its defaults (`*` stays inside one `/`
 * segment, `**` crosses them, a segment starting with `.` is not matched by a wildcard), and how
 * specific a pattern is, which decides between two globs that both match a name.
 */
import picomatch from 'picomatch';

/** Does `name` fall under `pattern`? */
export function globMatches(pattern: string, name: string): boolean {
  return picomatch.isMatch(name, pattern);
}

const CLOSER: Record<string, string> = { '[': ']', '{': '}', '(': ')' };
const WILDCARDS = new Set(['*', '?', '!', '@', '+', '|']);

/**
 * How many characters of `pattern` must appear as they are in a matching name: everything except
 * the wildcards `* ? ! @ + |` and whatever stands inside `[…]`, `{…}` or `(…)`; an escaped
 * character (`\*`) is one literal. An opener with no closer is literal, as picomatch reads it.
 * `review/*` has 7, `review/PR-*` 10, `*` none.
 */
export function literalCharacters(pattern: string): number {
  let count = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (i + 1 < pattern.length) i++;
      count++;
    } else if (c in CLOSER) {
      const end = groupEnd(pattern, i);
      if (end === -1) count++;
      else i = end;
    } else if (!WILDCARDS.has(c)) {
      count++;
    }
  }
  return count;
}

/** The index of the closer of the group opened at `start` (nesting and escapes honoured), or -1. */
function groupEnd(pattern: string, start: number): number {
  const open = pattern[start]!;
  const close = CLOSER[open]!;
  let depth = 0;
  for (let i = start; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return i;
  }
  return -1;
}

/** Why picomatch cannot compile `pattern`, or null. */
export function compileProblem(pattern: string): string | null {
  try {
    picomatch.makeRe(pattern);
  } catch (e) {
    return `not a valid glob: ${(e as Error).message}`;
  }
  return null;
}

/**
 * Why a glob cannot name environments, or null. A leading `!` would negate the whole pattern
 * (every name but one), which is no family of environments; `!(…)` is an extglob and fine.
 */
export function globProblem(pattern: string): string | null {
  if (pattern.startsWith('!') && !pattern.startsWith('!(')) return 'a negated glob (leading "!") cannot name environments';
  return compileProblem(pattern);
}
