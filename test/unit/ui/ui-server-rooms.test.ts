import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The web view's server room keeps to the house rules (test/unit/store/doors.test.ts checks them for
 * every room; these are the web view's own): it never speaks to the database drivers, sockets or
 * the composition root, and only the composition root brings it in.
 */
const SRC = new URL('../../../src/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const files = sourceFiles(SRC).map((file) => ({
  file: relative(SRC, file),
  imports: [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
}));
const resolved = (f: { file: string }, i: string) => (i.startsWith('.') ? join(dirname(f.file), i) : i);

describe('the ui room', () => {
  const ui = files.filter((f) => f.file.startsWith('ui/'));

  it('exists, with a door', () => {
    expect(ui.map((f) => f.file)).toContain('ui/index.ts');
  });

  it('imports no database driver, no socket library and nothing of the composition root', () => {
    const offenders = ui.flatMap((f) => f.imports.map((i) => resolved(f, i)).filter((t) => /^(kysely|pg|@electric-sql\/pglite|ws)(\/|$)/.test(t) || t.startsWith('server/')).map((t) => `${f.file} -> ${t}`));
    expect(offenders).toEqual([]);
  });

  it('is brought in only by the composition root, through its door', () => {
    const users = files.filter((f) => !f.file.startsWith('ui/') && f.imports.some((i) => resolved(f, i).startsWith('ui/')));
    expect(users.map((f) => f.file)).toEqual(['server/orchestrator.ts']);
    expect(users[0].imports.filter((i) => resolved(users[0], i).startsWith('ui/')).map((i) => resolved(users[0], i))).toEqual(['ui/index.js']);
  });
});
