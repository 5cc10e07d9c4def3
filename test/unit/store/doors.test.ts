/**
 * The store keeps its query builder to itself: only src/store/ speaks to Kysely, pg or PGlite, the
 * test-only door (store/testing.ts) is for tests, and the vocabulary room imports nothing of ours.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../../src/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

const files = sourceFiles(SRC).map((file) => ({ file: relative(SRC, file), imports: importsOf(file) }));

describe('doors', () => {
  it('finds the source files it checks', () => {
    expect(files.some((f) => f.file === 'store/index.ts')).toBe(true);
    expect(files.find((f) => f.file === 'store/store.ts')?.imports).toContain('kysely');
  });

  it('only the store room imports the database drivers', () => {
    const drivers = /^(kysely|kysely\/.*|pg|@electric-sql\/pglite)$/;
    const offenders = files.filter((f) => !f.file.startsWith('store/') && f.imports.some((i) => drivers.test(i)));
    expect(offenders.map((f) => f.file)).toEqual([]);
  });

  it('nothing in src/ uses the store\'s test-only door', () => {
    const resolves = (f: { file: string }, i: string) => i.startsWith('.') && join(dirname(f.file), i) === 'store/testing.js';
    const offenders = files.filter((f) => f.imports.some((i) => resolves(f, i)));
    expect(offenders.map((f) => f.file)).toEqual([]);
  });

  it('the vocabulary room imports nothing outside itself', () => {
    const vocabulary = files.filter((f) => f.file.startsWith('vocabulary/'));
    expect(vocabulary.length).toBeGreaterThan(0);
    expect(vocabulary.flatMap((f) => f.imports.filter((i) => !i.startsWith('./')))).toEqual([]);
  });
});
