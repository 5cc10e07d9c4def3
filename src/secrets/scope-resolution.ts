/**
 * Which scope each secret a job names comes from: pure, deterministic, no I/O.
 *
 * Users keep secrets in **scopes**, slash-separated paths (`aws/prod`, `aws/prod/db`), and **bind**
 * scope patterns to environments (`aws/**`, or exactly `aws/prod`; optionally limited to one
 * backend). A job gets a secret it names from the scopes its environments' bindings reach.
 *
 * The rule, for each name the job wants:
 *
 * 1. A scope is **reachable** when some binding of one of the job's environments matches it: the
 *    binding's backend is null (any backend) or the scope's backend, and its pattern matches the
 *    scope path with picomatch's defaults (as environment globs: `*` stays inside one segment, `**`
 *    crosses segments and also matches the bare prefix — `aws/**` matches `aws` — a wildcard never
 *    matches a segment starting with `.`). A pattern with no glob syntax is an **exact** binding.
 * 2. Among the reachable scopes that hold the name, the **deepest** wins: the most `/`-separated
 *    segments (a segment count, never a string length). `aws/prod/db` beats `aws/prod` and
 *    `aws/shared`.
 * 3. Ties (same depth) are broken, in order, by:
 *    a. a scope matched by an **exact** binding beats one matched only by globs;
 *    b. then the scope reached through the environment **later** in the job's list wins (as
 *       environment variables fold: the later environment overrides);
 *    c. then the scope path in **code-point order**, the smallest winning;
 *    d. then (the same path in two backends) the backend name in code-point order.
 *    A scope reached by several bindings counts with the strongest of them: exact over glob first,
 *    then the latest environment.
 * 4. A name no reachable scope holds is **missing**; a job with a missing secret must not run.
 *
 * KiCI's example — bindings `aws/**` and `aws/prod/**` on one environment, `AWS_REGION` in both
 * `aws/shared` and `aws/prod` — was decided by row order there. Here both scopes have depth 2, both
 * are glob matches from the same environment, so (c) decides: `aws/prod` < `aws/shared`, and
 * `aws/prod` wins, every time. Bind `aws/prod` exactly and it wins by (a) whatever the names; bind
 * `aws/**` on a later environment than `aws/prod/**` and `aws/shared` wins by (b).
 *
 * Names are environment-variable names (`^[A-Za-z_][A-Za-z0-9_]*$`, at most 256 characters), and
 * never `KICI_*`: those are run metadata, which no secret may override. Scope paths are segments of
 * `[A-Za-z0-9._-]` not starting with `.` (so never `.` or `..`), and the `source/` scopes are
 * internal (sources' credentials): no user scope, pattern or resolution ever reaches them.
 */
import picomatch from 'picomatch';

export const SECRET_LIMITS = Object.freeze({ nameLength: 256, scopeLength: 256, patternLength: 256, valueBytes: 65_536, backendLength: 63 });

/** The reserved run-metadata prefix: never a secret's name. */
export const RESERVED_SECRET_PREFIX = 'KICI_';

/** The first segment of the internal scopes holding sources' credentials (`source/<id>`). */
export const INTERNAL_SCOPE_ROOT = 'source';

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SCOPE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const PATTERN_CHARACTERS = /^[A-Za-z0-9._\-/*?[\]{}(),!@+|]+$/;
const BACKEND_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Why `name` cannot be a secret's name, or null. */
export function secretNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.length > SECRET_LIMITS.nameLength) return `must be at most ${SECRET_LIMITS.nameLength} characters`;
  if (!SECRET_NAME.test(name)) return 'must be an environment variable name (letters, digits and "_", not starting with a digit)';
  // Whatever the case: Windows takes environment names case-insensitively (as the variables' check does).
  if (name.toUpperCase().startsWith(RESERVED_SECRET_PREFIX)) return `${RESERVED_SECRET_PREFIX}* names are run metadata, which a secret may not replace`;
  return null;
}

/** Why `scope` cannot be a user's scope path, or null. */
export function scopeProblem(scope: string): string | null {
  if (scope.length === 0) return 'must not be empty';
  if (scope.length > SECRET_LIMITS.scopeLength) return `must be at most ${SECRET_LIMITS.scopeLength} characters`;
  const segments = scope.split('/');
  if (segments[0] === INTERNAL_SCOPE_ROOT) return `${INTERNAL_SCOPE_ROOT}/ scopes are internal (sources' credentials)`;
  for (const segment of segments) {
    if (segment === '') return 'must not have an empty segment (a leading, trailing or doubled "/")';
    if (segment === '.' || segment === '..') return `must not have a "${segment}" segment`;
    if (!SCOPE_SEGMENT.test(segment)) return `segment "${segment}": letters, digits, ".", "_" and "-" only, not starting with "."`;
  }
  return null;
}

/** Why `pattern` cannot be bound to an environment, or null. */
export function scopePatternProblem(pattern: string): string | null {
  if (pattern.length === 0) return 'must not be empty';
  if (pattern.length > SECRET_LIMITS.patternLength) return `must be at most ${SECRET_LIMITS.patternLength} characters`;
  if (!PATTERN_CHARACTERS.test(pattern)) return 'letters, digits, "/", ".", "_", "-" and glob characters only';
  if (pattern.startsWith('!') && !pattern.startsWith('!(')) return 'a negated glob (leading "!") cannot name scopes';
  const segments = pattern.split('/');
  if (segments[0] === INTERNAL_SCOPE_ROOT) return `${INTERNAL_SCOPE_ROOT}/ scopes are internal (sources' credentials)`;
  for (const segment of segments) {
    if (segment === '') return 'must not have an empty segment (a leading, trailing or doubled "/")';
    if (segment === '.' || segment === '..') return `must not have a "${segment}" segment`;
  }
  try {
    picomatch.makeRe(pattern);
  } catch (e) {
    return `not a valid glob: ${(e as Error).message}`;
  }
  return null;
}

/** Why `name` cannot name a secret backend, or null. */
export function backendNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.length > SECRET_LIMITS.backendLength) return `must be at most ${SECRET_LIMITS.backendLength} characters`;
  if (!BACKEND_NAME.test(name)) return 'lower-case letters, digits, "_" and "-" only, starting with a letter or digit';
  return null;
}

/** An exact binding: a pattern without glob syntax, matching only the scope spelled the same. */
export function isExactPattern(pattern: string): boolean {
  return !picomatch.scan(pattern).isGlob;
}

/** Segments of a scope path: `aws` 1, `aws/prod` 2, `aws/prod/db` 3. */
export function scopeDepth(scope: string): number {
  return scope.split('/').length;
}

/** Does the pattern reach this scope path (internal scopes never)? */
export function patternMatches(pattern: string, scope: string): boolean {
  if (scope.split('/')[0] === INTERNAL_SCOPE_ROOT) return false;
  return isExactPattern(pattern) ? pattern === scope : picomatch.isMatch(scope, pattern);
}

/** A binding as resolution sees it. */
export interface ResolutionBinding {
  id: string;
  environmentId: string;
  scopePattern: string;
  /** null: any backend. */
  backend: string | null;
}

/** Does the binding reach `scope` of `backend`? */
export function bindingReaches(binding: ResolutionBinding, backend: string, scope: string): boolean {
  return (binding.backend === null || binding.backend === backend) && patternMatches(binding.scopePattern, scope);
}

/** A scope of a backend and the secret names it holds (never values). */
export interface AvailableScope {
  backend: string;
  scope: string;
  names: readonly string[];
}

/** Where a wanted name comes from, and why that scope won. */
export interface SecretSource {
  name: string;
  backend: string;
  scope: string;
  /** The strongest binding reaching the scope (exact over glob, then the later environment). */
  bindingId: string;
  environmentId: string;
  exact: boolean;
}

export interface ScopeResolutionInput {
  /** The job's environments, in the job's order (later ones win ties). */
  environmentIds: readonly string[];
  /** Their bindings (bindings of environments not in the list are ignored). */
  bindings: readonly ResolutionBinding[];
  /** The org's scopes per backend with their names. */
  available: readonly AvailableScope[];
  /** The names wanted (duplicates are one). */
  names: readonly string[];
}

export interface ScopeResolution {
  /** Each resolved name's source. */
  sources: Record<string, SecretSource>;
  /** Wanted names no reachable scope holds, sorted. */
  missing: string[];
  /** Wanted names that can never be secrets, with why (never resolved, whatever is stored). */
  refused: { name: string; problem: string }[];
}

interface Candidate {
  backend: string;
  scope: string;
  depth: number;
  exact: boolean;
  environmentIndex: number;
  binding: ResolutionBinding;
}

/** Compare by code points (not UTF-16 units), as the rule says. */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Negative when `a` beats `b`. */
function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.depth !== b.depth) return b.depth - a.depth;
  if (a.exact !== b.exact) return a.exact ? -1 : 1;
  if (a.environmentIndex !== b.environmentIndex) return b.environmentIndex - a.environmentIndex;
  return compareCodePoints(a.scope, b.scope) || compareCodePoints(a.backend, b.backend);
}

/** The strongest binding reaching a scope: exact over glob, then the later environment, then the smaller id. */
function strongestBinding(reaching: { binding: ResolutionBinding; exact: boolean; environmentIndex: number }[]) {
  return reaching.reduce((best, next) => {
    if (next.exact !== best.exact) return next.exact ? next : best;
    if (next.environmentIndex !== best.environmentIndex) return next.environmentIndex > best.environmentIndex ? next : best;
    return compareCodePoints(next.binding.id, best.binding.id) < 0 ? next : best;
  });
}

/** Resolve every wanted name by the rule above. Input order never changes the answer. */
export function resolveSecretScopes(input: ScopeResolutionInput): ScopeResolution {
  // Where each environment stands in the job (its last place, if listed twice: later wins).
  const position = new Map<string, number>();
  input.environmentIds.forEach((id, i) => position.set(id, i));
  const bindings = input.bindings.filter((b) => position.has(b.environmentId));

  // Every reachable scope once, with the strongest binding reaching it.
  const reachable = new Map<string, Candidate & { names: Set<string> }>();
  for (const available of input.available) {
    const reaching = bindings
      .filter((b) => bindingReaches(b, available.backend, available.scope))
      .map((binding) => ({ binding, exact: isExactPattern(binding.scopePattern), environmentIndex: position.get(binding.environmentId)! }));
    if (reaching.length === 0) continue;
    const key = JSON.stringify([available.backend, available.scope]);
    const known = reachable.get(key);
    const strongest = strongestBinding(reaching);
    if (known) {
      for (const name of available.names) known.names.add(name);
      continue;
    }
    reachable.set(key, {
      backend: available.backend,
      scope: available.scope,
      depth: scopeDepth(available.scope),
      ...strongest,
      names: new Set(available.names),
    });
  }

  const sources: Record<string, SecretSource> = {};
  const missing: string[] = [];
  const refused: { name: string; problem: string }[] = [];
  for (const name of [...new Set(input.names)].sort(compareCodePoints)) {
    const problem = secretNameProblem(name);
    if (problem) {
      refused.push({ name, problem });
      continue;
    }
    let winner: Candidate | undefined;
    for (const candidate of reachable.values()) {
      if (!candidate.names.has(name)) continue;
      if (!winner || compareCandidates(candidate, winner) < 0) winner = candidate;
    }
    if (!winner) {
      missing.push(name);
      continue;
    }
    sources[name] = {
      name,
      backend: winner.backend,
      scope: winner.scope,
      bindingId: winner.binding.id,
      environmentId: winner.binding.environmentId,
      exact: winner.exact,
    };
  }
  return { sources, missing, refused };
}
