/**
 * Which scope each secret comes from (src/secrets/scope-resolution.ts): the deepest reachable
 * scope, then exact over glob, then the later environment, then the smaller path — the same answer
 * whatever order the bindings and scopes arrive in. The reference's example (`aws/shared` and
 * `aws/prod`, both depth 2) comes out `aws/prod` every time.
 */
import { describe, expect, it } from 'vitest';
import {
  type AvailableScope,
  isExactPattern,
  patternMatches,
  type ResolutionBinding,
  resolveSecretScopes,
  scopeDepth,
  scopePatternProblem,
  scopeProblem,
  secretNameProblem,
} from '../../../src/secrets/index.js';

const PROD = 'env-prod';
const STAGING = 'env-staging';

let nextId = 0;
const bind = (environmentId: string, scopePattern: string, backend: string | null = null): ResolutionBinding => ({
  id: `b${String(++nextId).padStart(3, '0')}`,
  environmentId,
  scopePattern,
  backend,
});
const scope = (path: string, names: string[], backend = 'pg'): AvailableScope => ({ backend, scope: path, names });

/** Every permutation of a short list. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** The winning scope of each name, checked to be the same under every order of bindings and scopes. */
function winners(environmentIds: string[], bindings: ResolutionBinding[], available: AvailableScope[], names: string[]) {
  const first = resolveSecretScopes({ environmentIds, bindings, available, names });
  for (const b of permutations(bindings)) {
    for (const a of permutations(available)) {
      expect(resolveSecretScopes({ environmentIds, bindings: b, available: a, names: [...names].reverse() })).toEqual(first);
    }
  }
  return { scopes: Object.fromEntries(Object.entries(first.sources).map(([name, s]) => [name, s.scope])), ...first };
}

describe('the reference example', () => {
  it('aws/** and aws/prod/** with AWS_REGION in aws/shared and aws/prod: aws/prod wins (same depth, code-point order), whatever the row order', () => {
    const r = winners([PROD], [bind(PROD, 'aws/**'), bind(PROD, 'aws/prod/**')], [scope('aws/shared', ['AWS_REGION']), scope('aws/prod', ['AWS_REGION'])], ['AWS_REGION']);
    expect(r.scopes).toEqual({ AWS_REGION: 'aws/prod' });
    expect(r.missing).toEqual([]);
  });

  it('a deeper scope wins over any shallower one: aws/prod/db beats aws/shared and aws/prod', () => {
    const r = winners(
      [PROD],
      [bind(PROD, 'aws/**')],
      [scope('aws/shared', ['DB_PASSWORD', 'AWS_REGION']), scope('aws/prod', ['DB_PASSWORD']), scope('aws/prod/db', ['DB_PASSWORD'])],
      ['DB_PASSWORD', 'AWS_REGION'],
    );
    expect(r.scopes).toEqual({ DB_PASSWORD: 'aws/prod/db', AWS_REGION: 'aws/shared' });
  });

  it('depth counts segments, never characters: aws/a/b (3) beats aws/a-very-long-name (2)', () => {
    const r = winners([PROD], [bind(PROD, 'aws/**')], [scope('aws/a-very-long-name', ['K']), scope('aws/a/b', ['K'])], ['K']);
    expect(r.scopes).toEqual({ K: 'aws/a/b' });
  });
});

describe('ties at the same depth', () => {
  it('(a) an exact binding beats a glob match, whatever the paths', () => {
    const r = winners([PROD], [bind(PROD, 'aws/**'), bind(PROD, 'aws/shared')], [scope('aws/shared', ['K']), scope('aws/prod', ['K'])], ['K']);
    expect(r.scopes).toEqual({ K: 'aws/shared' });
    expect(r.sources.K!.exact).toBe(true);
  });

  it('(a) before (b): an exact binding on an earlier environment beats a glob on a later one', () => {
    const r = winners([PROD, STAGING], [bind(PROD, 'aws/shared'), bind(STAGING, 'aws/*')], [scope('aws/shared', ['K']), scope('aws/prod', ['K'])], ['K']);
    expect(r.scopes).toEqual({ K: 'aws/shared' });
  });

  it('(b) the scope reached through the later environment wins', () => {
    const bindings = [bind(PROD, 'aws/prod/**'), bind(STAGING, 'aws/**')];
    const available = [scope('aws/shared', ['K']), scope('aws/prod', ['K'])];
    // aws/prod is reached from both environments, aws/shared only from STAGING: with staging later,
    // both count as staging's, so the path decides (aws/prod).
    expect(winners([PROD, STAGING], bindings, available, ['K']).scopes).toEqual({ K: 'aws/prod' });
    // Each reached from one environment only: the later environment's scope wins, whatever the paths.
    expect(winners([PROD, STAGING], [bind(PROD, 'aws/p*'), bind(STAGING, 'aws/s*')], available, ['K']).scopes).toEqual({ K: 'aws/shared' });
    expect(winners([STAGING, PROD], [bind(PROD, 'aws/p*'), bind(STAGING, 'aws/s*')], available, ['K']).scopes).toEqual({ K: 'aws/prod' });
  });

  it('(c) then the path in code-point order, the smallest winning (upper case before lower case)', () => {
    expect(winners([PROD], [bind(PROD, '**')], [scope('b/x', ['K']), scope('a/y', ['K'])], ['K']).scopes).toEqual({ K: 'a/y' });
    expect(winners([PROD], [bind(PROD, '**')], [scope('aws/prod', ['K']), scope('aws/Prod', ['K'])], ['K']).scopes).toEqual({ K: 'aws/Prod' });
  });

  it('(d) the same path in two backends: the backend name in code-point order', () => {
    const r = winners([PROD], [bind(PROD, 'aws/prod')], [scope('aws/prod', ['K'], 'vault'), scope('aws/prod', ['K'], 'pg')], ['K']);
    expect(r.sources.K).toMatchObject({ backend: 'pg', scope: 'aws/prod' });
  });
});

describe('reachability', () => {
  it('a binding limited to a backend reaches only that backend', () => {
    const r = winners([PROD], [bind(PROD, 'aws/**', 'vault')], [scope('aws/prod', ['K'], 'pg'), scope('aws/prod', ['K'], 'vault')], ['K']);
    expect(r.sources.K).toMatchObject({ backend: 'vault' });
    expect(winners([PROD], [bind(PROD, 'aws/**', 'vault')], [scope('aws/prod', ['K'], 'pg')], ['K']).missing).toEqual(['K']);
  });

  it('picomatch defaults: * stays in a segment, ** crosses and matches its prefix, exact matches only itself', () => {
    expect(patternMatches('aws/*', 'aws/prod')).toBe(true);
    expect(patternMatches('aws/*', 'aws/prod/db')).toBe(false);
    expect(patternMatches('aws/**', 'aws/prod/db')).toBe(true);
    expect(patternMatches('aws/**', 'aws')).toBe(true);
    expect(patternMatches('aws/prod/**', 'aws/prod')).toBe(true);
    expect(patternMatches('aws/prod', 'aws/prod')).toBe(true);
    expect(patternMatches('aws/prod', 'aws/prod/db')).toBe(false);
    expect(patternMatches('aws/{prod,dev}', 'aws/dev')).toBe(true);
  });

  it('never reaches the internal source/ scopes, even through **', () => {
    expect(patternMatches('**', 'source/src_1')).toBe(false);
    const r = resolveSecretScopes({ environmentIds: [PROD], bindings: [bind(PROD, '**')], available: [scope('source/src_1', ['token'])], names: ['token'] });
    expect(r.missing).toEqual(['token']);
  });

  it('bindings of environments the job does not name count for nothing', () => {
    const r = resolveSecretScopes({ environmentIds: [PROD], bindings: [bind(STAGING, '**')], available: [scope('aws/prod', ['K'])], names: ['K'] });
    expect(r.missing).toEqual(['K']);
  });

  it('names missing everywhere are listed, sorted, once', () => {
    const r = resolveSecretScopes({ environmentIds: [PROD], bindings: [bind(PROD, 'aws/**')], available: [scope('aws/prod', ['A'])], names: ['Z', 'A', 'B', 'Z'] });
    expect(r.missing).toEqual(['B', 'Z']);
    expect(Object.keys(r.sources)).toEqual(['A']);
  });

  it('refuses KICI_ names and non-variable names, stored or not', () => {
    const r = resolveSecretScopes({ environmentIds: [PROD], bindings: [bind(PROD, '**')], available: [scope('aws', ['KICI_RUN_ID', 'A'])], names: ['KICI_RUN_ID', '1X', 'A'] });
    expect(r.refused.map((x) => x.name)).toEqual(['1X', 'KICI_RUN_ID']);
    expect(r.sources.A?.scope).toBe('aws');
    expect(r.sources.KICI_RUN_ID).toBeUndefined();
  });
});

describe('the rules for names, scopes and patterns', () => {
  it.each([
    ['DEPLOY_KEY', null],
    ['_x1', null],
    ['', 'must not be empty'],
    ['1ABC', 'environment variable name'],
    ['A-B', 'environment variable name'],
    ['KICI_TOKEN', 'run metadata'],
    ['x'.repeat(257), 'at most 256'],
  ])('name %j', (name, problem) => {
    const found = secretNameProblem(name);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });

  it.each([
    ['aws', null],
    ['aws/prod/db', null],
    ['a_b-c.d/E9', null],
    ['', 'must not be empty'],
    ['aws//prod', 'empty segment'],
    ['/aws', 'empty segment'],
    ['aws/', 'empty segment'],
    ['aws/../x', '".." segment'],
    ['aws/./x', '"." segment'],
    ['aws/.hidden', 'not starting with "."'],
    ['aws/p*', 'letters, digits'],
    ['aws prod', 'letters, digits'],
    ['source/src_1', 'internal'],
    ['source', 'internal'],
  ])('scope %j', (path, problem) => {
    const found = scopeProblem(path);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });

  it.each([
    ['aws/**', null],
    ['aws/prod', null],
    ['**', null],
    ['aws/{prod,dev}', null],
    ['!aws/**', 'negated'],
    ['source/**', 'internal'],
    ['aws/../x', '".." segment'],
    ['aws//x', 'empty segment'],
    ['aws/\\x', 'glob characters only'],
  ])('pattern %j', (pattern, problem) => {
    const found = scopePatternProblem(pattern);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });

  it('exactness and depth', () => {
    expect(isExactPattern('aws/prod')).toBe(true);
    expect(isExactPattern('aws/*')).toBe(false);
    expect(isExactPattern('aws/{a,b}')).toBe(false);
    expect(scopeDepth('aws')).toBe(1);
    expect(scopeDepth('aws/prod/db')).toBe(3);
  });
});
