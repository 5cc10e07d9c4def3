/**
 * Which environment a job's name means. KiCI takes an exact name first and then the first glob
 * PostgreSQL happens to return; here the order among globs is defined, so the same name always
 * lands on the same environment:
 *   1. an environment whose name is exactly the one asked for (of either type);
 *   2. else, among the glob environments whose pattern matches it, the most specific one: the
 *      pattern with the most literal characters (`literalCharacters`);
 *   3. then the oldest (created_at), then the smallest id, so two equal patterns never flip.
 * Disabled environments take part: a job that names one must be rejected by its gate, not run
 * unprotected as if no environment matched.
 */
import type { Environment } from './environment.js';
import { globMatches, literalCharacters } from './glob.js';

/** What matching reads of an environment. */
export type MatchableEnvironment = Pick<Environment, 'id' | 'name' | 'type' | 'globPattern' | 'createdAt'>;

export interface EnvironmentMatch<E extends MatchableEnvironment> {
  environment: E;
  /** `name`: an exact name; `glob`: the most specific matching pattern. */
  via: 'name' | 'glob';
}

/** The environment `name` resolves to among one org's `environments`, or undefined. */
export function matchEnvironment<E extends MatchableEnvironment>(environments: readonly E[], name: string): EnvironmentMatch<E> | undefined {
  const exact = environments.find((e) => e.name === name);
  if (exact) return { environment: exact, via: 'name' };
  const candidates = environments.filter((e) => e.type === 'glob' && e.globPattern !== null && globMatches(e.globPattern, name));
  if (candidates.length === 0) return undefined;
  const [best] = candidates.sort(bySpecificity);
  return { environment: best!, via: 'glob' };
}

/** Most literal characters first, then the oldest, then the smallest id. */
function bySpecificity(a: MatchableEnvironment, b: MatchableEnvironment): number {
  return (
    literalCharacters(b.globPattern ?? '') - literalCharacters(a.globPattern ?? '') ||
    a.createdAt.getTime() - b.createdAt.getTime() ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/**
 * The names a job asks for, each with the environment it resolves to among its org's (null: none),
 * in the job's order: what the protection gates take.
 */
export function bindEnvironments<E extends MatchableEnvironment>(environments: readonly E[], names: readonly string[]): { name: string; environment: E | null }[] {
  return names.map((name) => ({ name, environment: matchEnvironment(environments, name)?.environment ?? null }));
}
