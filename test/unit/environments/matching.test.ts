import { describe, expect, it } from 'vitest';
import { type MatchableEnvironment, matchEnvironment } from '../../../src/environments/index.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
let ids = 0;

function fixed(name: string, createdAtSeconds = 0): MatchableEnvironment {
  return { id: `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`, name, type: 'fixed', globPattern: null, createdAt: new Date(T0 + createdAtSeconds * 1000) };
}

function glob(pattern: string, options: { name?: string; at?: number; id?: string } = {}): MatchableEnvironment {
  return {
    id: options.id ?? `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    name: options.name ?? pattern,
    type: 'glob',
    globPattern: pattern,
    createdAt: new Date(T0 + (options.at ?? 0) * 1000),
  };
}

const pick = (envs: MatchableEnvironment[], name: string) => matchEnvironment(envs, name)?.environment.name;

describe('matchEnvironment', () => {
  it('takes an exact name first, of either type', () => {
    const envs = [glob('review/*'), fixed('review/PR-1'), fixed('production')];
    expect(matchEnvironment(envs, 'production')).toEqual({ environment: envs[2], via: 'name' });
    expect(matchEnvironment(envs, 'review/PR-1')).toEqual({ environment: envs[1], via: 'name' });
    // A glob environment asked for by its own name is an exact match too.
    expect(matchEnvironment(envs, 'review/*')).toEqual({ environment: envs[0], via: 'name' });
  });

  it('falls back to a matching glob, and to nothing', () => {
    const envs = [fixed('production'), glob('review/*', { name: 'reviews' })];
    expect(matchEnvironment(envs, 'review/PR-123')).toEqual({ environment: envs[1], via: 'glob' });
    expect(matchEnvironment(envs, 'staging')).toBeUndefined();
    expect(matchEnvironment([], 'production')).toBeUndefined();
  });

  it('never matches a fixed environment by pattern', () => {
    expect(matchEnvironment([fixed('review/*')], 'review/PR-1')).toBeUndefined();
  });

  it('uses picomatch segments: `*` stays in one segment, `**` crosses them', () => {
    const one = [glob('review/*')];
    const deep = [glob('review/**')];
    expect(pick(one, 'review/PR-123')).toBe('review/*');
    expect(pick(one, 'review/deep/path')).toBeUndefined();
    expect(pick(deep, 'review/PR-123')).toBe('review/**');
    expect(pick(deep, 'review/deep/path')).toBe('review/**');
    expect(pick(one, 'preview/PR-1')).toBeUndefined();
    // A wildcard does not match a segment starting with a dot (picomatch's default).
    expect(pick(one, 'review/.hidden')).toBeUndefined();
  });

  it('prefers the glob with more literal characters', () => {
    const envs = [glob('*/PR-*', { at: 0 }), glob('review/*', { at: 1 }), glob('review/PR-*', { at: 2 }), glob('**', { at: 3 })];
    expect(pick(envs, 'review/PR-7')).toBe('review/PR-*');
    expect(pick(envs, 'review/main')).toBe('review/*');
    expect(pick(envs, 'hotfix/PR-7')).toBe('*/PR-*');
    expect(pick(envs, 'anything/at/all')).toBe('**');
  });

  it('counts what is inside [...], {...} and extglobs as no literal', () => {
    // `review/{a,b}*` has 7 literals, the same as `review/*`: the older one wins the tie.
    const envs = [glob('review/*', { at: 5 }), glob('review/{a,b}*', { at: 1 }), glob('review/[ab]x', { at: 9 })];
    expect(pick(envs, 'review/a1')).toBe('review/{a,b}*');
    // `review/[ab]x` has 8 literals: `review/` and `x`.
    expect(pick(envs, 'review/ax')).toBe('review/[ab]x');
  });

  it('breaks a tie of literal counts by age, then by id', () => {
    const older = glob('review/*', { name: 'reviews-old', at: 0 });
    const newer = glob('review/**', { name: 'reviews-new', at: 60 });
    expect(pick([newer, older], 'review/PR-1')).toBe('reviews-old');
    expect(pick([older, newer], 'review/PR-1')).toBe('reviews-old');

    const a = glob('review/*', { name: 'a', at: 0, id: '00000000-0000-4000-8000-00000000000a' });
    const b = glob('review/*', { name: 'b', at: 0, id: '00000000-0000-4000-8000-00000000000b' });
    expect(pick([b, a], 'review/PR-1')).toBe('a');
    expect(pick([a, b], 'review/PR-1')).toBe('a');
  });

  it('does not reorder the list it was given', () => {
    const envs = [glob('review/*', { at: 9 }), glob('review/PR-*', { at: 0 })];
    const before = [...envs];
    matchEnvironment(envs, 'review/PR-1');
    expect(envs).toEqual(before);
  });

  it('still matches a disabled environment (the gate rejects it, nothing runs unprotected)', () => {
    const disabled = { ...glob('review/*'), enabled: false };
    expect(matchEnvironment([disabled], 'review/PR-9')?.environment).toBe(disabled);
    const off = { ...fixed('production'), enabled: false };
    expect(matchEnvironment([off], 'production')?.environment).toBe(off);
  });
});

describe("docs/environments.md's examples", () => {
  const envs = [
    fixed('production', 0),
    glob('review/*', { name: 'reviews', at: 1 }),
    glob('review/**', { name: 'deep-reviews', at: 2 }),
    glob('review/PR-*', { name: 'pr-reviews', at: 3 }),
    glob('**', { name: 'catch-all', at: 4 }),
  ];
  it.each([
    ['production', 'production'],
    ['review/PR-123', 'pr-reviews'],
    ['review/feature-x', 'reviews'],
    ['review/team/feature-x', 'deep-reviews'],
    ['review', 'deep-reviews'],
    ['hotfix/1', 'catch-all'],
    ['review/.hidden', undefined],
  ])('%s → %s', (name, expected) => {
    expect(pick(envs, name)).toBe(expected);
  });
});
