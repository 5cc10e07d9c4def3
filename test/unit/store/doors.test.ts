/**
 * The store keeps its query builder to itself: only src/store/ speaks to Kysely, pg or PGlite, the
 * test-only door (store/testing.ts) is for tests, and the vocabulary room imports nothing of ours.
 * Every room has a door (index.ts) and other rooms come in only through it; domain rooms never
 * touch sockets; nothing but the entry points imports the composition root.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

  // src/bin holds entry points (one file per command), not a room: nothing imports it.
  const rooms = readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'bin')
    .map((e) => e.name);

  it('every room has a door', () => {
    expect(rooms).toContain('deliveries');
    expect(rooms.filter((room) => !existsSync(join(SRC, room, 'index.ts')))).toEqual([]);
  });

  it('no file imports another room\'s file other than its door', () => {
    const offenders = files.flatMap((f) => {
      const room = f.file.split('/')[0];
      return f.imports
        .filter((i) => i.startsWith('.'))
        .map((i) => join(dirname(f.file), i))
        .filter((target) => target.split('/')[0] !== room && !/^[a-z-]+\/index\.js$/.test(target) && target !== 'store/testing.js')
        .map((target) => `${f.file} -> ${target}`);
    });
    expect(offenders).toEqual([]);
  });

  it('only the composition root, the agent program and the entry points speak WebSocket', () => {
    const allowed = /^(server|agent|bin|transport)\//;
    const offenders = files.filter((f) => !allowed.test(f.file) && f.imports.includes('ws'));
    expect(offenders.map((f) => f.file)).toEqual([]);
  });

  it('only the entry points import the composition root', () => {
    const offenders = files.filter((f) => !f.file.startsWith('server/') && !f.file.startsWith('bin/') && f.imports.some((i) => i.startsWith('.') && join(dirname(f.file), i).startsWith('server/')));
    expect(offenders.map((f) => f.file)).toEqual([]);
  });

  it('the rooms import each other without a cycle', () => {
    const edges = new Map<string, Set<string>>();
    for (const f of files) {
      const room = f.file.split('/')[0]!;
      for (const i of f.imports.filter((x) => x.startsWith('.'))) {
        const target = join(dirname(f.file), i).split('/')[0]!;
        if (target !== room) edges.set(room, (edges.get(room) ?? new Set()).add(target));
      }
    }
    const cycles: string[] = [];
    const walk = (room: string, path: string[]) => {
      if (path.includes(room)) return void cycles.push([...path.slice(path.indexOf(room)), room].join(' -> '));
      for (const next of edges.get(room) ?? []) walk(next, [...path, room]);
    };
    for (const room of edges.keys()) walk(room, []);
    expect(cycles).toEqual([]);
  });
});
