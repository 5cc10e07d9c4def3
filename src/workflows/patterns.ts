/**
 * Pattern lists of triggers: picomatch globs (a leading `!` excludes) and regular expressions.
 * Kept apart from trigger matching so branch, tag and path semantics are each written once.
 */
import picomatch from 'picomatch';
import type { Pattern } from './lockfile-schema.js';

export interface PatternOutcome {
  passed: boolean;
  reason?: string;
}

// dot: a branch like `release/.x` or a path like `src/.eslintrc` is still inside `release/*`, `src/**`.
const GLOB_OPTIONS = { dot: true } as const;

export function describePattern(pattern: Pattern): string {
  return typeof pattern === 'string' ? pattern : `/${pattern.regex}/${pattern.flags ?? ''}`;
}

export function describePatterns(patterns: Pattern[]): string {
  return patterns.map(describePattern).join('|');
}

function isExclude(pattern: Pattern): pattern is string {
  return typeof pattern === 'string' && pattern.startsWith('!');
}

/** One pattern against one value; an exclude pattern is matched without its `!`. */
export function matchesPattern(pattern: Pattern, value: string): boolean {
  if (typeof pattern !== 'string') return new RegExp(pattern.regex, pattern.flags).test(value);
  const glob = isExclude(pattern) ? pattern.slice(1) : pattern;
  return picomatch.isMatch(value, glob, GLOB_OPTIONS);
}

/** Branch and tag lists: an exclude hit fails, only excludes pass, otherwise any include must match. */
export function matchPatternList(patterns: Pattern[], value: string): PatternOutcome {
  const excluded = patterns.find((p) => isExclude(p) && matchesPattern(p, value));
  if (excluded !== undefined) return { passed: false, reason: `excluded by ${describePattern(excluded)}` };
  const includes = patterns.filter((p) => !isExclude(p));
  if (includes.length === 0) return { passed: true, reason: 'only exclude patterns' };
  if (includes.some((p) => matchesPattern(p, value))) return { passed: true };
  return { passed: false, reason: 'no pattern matched' };
}

/**
 * Path filters (execution.md §2): no changed files fails; files hit by an exclude are dropped;
 * nothing left fails; only excludes pass; otherwise any remaining file must match an include.
 */
export function matchPaths(patterns: Pattern[], changedFiles: string[] | undefined): PatternOutcome {
  if (!changedFiles || changedFiles.length === 0) return { passed: false, reason: 'no changed files' };
  const excludes = patterns.filter(isExclude);
  const remaining = changedFiles.filter((file) => !excludes.some((p) => matchesPattern(p, file)));
  if (remaining.length === 0) return { passed: false, reason: 'every changed file is excluded' };
  const includes = patterns.filter((p) => !isExclude(p));
  if (includes.length === 0) return { passed: true, reason: 'only exclude patterns' };
  const hit = remaining.find((file) => includes.some((p) => matchesPattern(p, file)));
  if (hit !== undefined) return { passed: true, reason: `matched ${hit}` };
  return { passed: false, reason: 'no changed file matched' };
}
