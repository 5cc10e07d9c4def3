import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { globMatches, globProblem, literalCharacters } from '../../../src/environments/index.js';

describe('literalCharacters', () => {
  it.each([
    ['production', 10],
    ['review/*', 7],
    ['review/**', 7],
    ['review/PR-*', 10],
    ['*/PR-*', 4],
    ['*', 0],
    ['**', 0],
    ['review/?', 7],
    ['review/[0-9]*', 7],
    ['review/{a,b}', 7],
    ['review/{a,{b,c}}x', 8],
    ['review/+(a|b)', 7],
    ['review/!(main)', 7],
    ['review/\\*', 8],
    // An opener with no closer is a literal character, as picomatch reads it.
    ['review/[x', 9],
  ])('%s has %i', (pattern, count) => {
    expect(literalCharacters(pattern)).toBe(count);
  });
});

describe('globMatches', () => {
  it('follows picomatch defaults', () => {
    expect(globMatches('review/*', 'review/PR-1')).toBe(true);
    expect(globMatches('review/*', 'review/a/b')).toBe(false);
    expect(globMatches('review/**', 'review/a/b')).toBe(true);
    expect(globMatches('review/**', 'review')).toBe(true);
    expect(globMatches('release/v{1,2}', 'release/v2')).toBe(true);
  });
});

describe('globProblem', () => {
  it('accepts ordinary globs and extglobs', () => {
    for (const p of ['review/*', 'review/**', '!(main)', 'release/[0-9]*', '{a,b}/*']) expect(globProblem(p)).toBeNull();
  });

  it('refuses a negated glob: it would name every environment but one', () => {
    expect(globProblem('!main')).toMatch(/negated glob/);
  });
});

describe('the environments room', () => {
  it('imports no database driver and no socket library', () => {
    const dir = new URL('../../../src/environments/', import.meta.url).pathname;
    const imports = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]));
    expect(imports.filter((i) => /^(pg|ws|kysely|@electric-sql\/pglite)(\/|$)/.test(i!))).toEqual([]);
  });
});
