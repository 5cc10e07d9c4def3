/**
 * The lock file is checked once per content: a push that left it alone gets the cached answer
 * (ok or error), keyed by git's blob id when the reader knows it, else by a hash of the text.
 */
import { describe, expect, it } from 'vitest';
import { matchWorkflows, ParsedLockfiles, parseLockfile, planRun, type CiEvent } from '../../../src/workflows/index.js';
import { LOCKFILE_EXAMPLE } from './fixtures.js';

const other = JSON.stringify({ schemaVersion: 1, workflows: [{ name: 'lint', triggers: [{ _type: 'push' }], jobs: [{ name: 'l', steps: [{ run: 'true' }] }] }] });
const corrupt = '{"schemaVersion": 1, "workflows": [';

describe('ParsedLockfiles', () => {
  it('parses a text once: the second parse is a hit with the same result as parseLockfile', () => {
    const cache = new ParsedLockfiles();
    const first = cache.parse(LOCKFILE_EXAMPLE);
    expect(first).toEqual(parseLockfile(LOCKFILE_EXAMPLE));
    expect(cache.parse(LOCKFILE_EXAMPLE)).toBe(first);
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it('misses on a different text', () => {
    const cache = new ParsedLockfiles();
    cache.parse(LOCKFILE_EXAMPLE);
    const lint = cache.parse(other);
    expect(lint.ok && lint.lockfile.workflows.map((w) => w.name)).toEqual(['lint']);
    expect(cache.stats()).toEqual({ hits: 0, misses: 2, size: 2 });
  });

  it('caches errors too', () => {
    const cache = new ParsedLockfiles();
    const error = cache.parse(corrupt);
    expect(error).toEqual(parseLockfile(corrupt));
    expect(error.ok).toBe(false);
    expect(cache.parse(corrupt)).toBe(error);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('keys by the blob id when given one', () => {
    const cache = new ParsedLockfiles();
    const byBlob = cache.parse(LOCKFILE_EXAMPLE, 'b'.repeat(40));
    expect(cache.parse(LOCKFILE_EXAMPLE, 'b'.repeat(40))).toBe(byBlob);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('keeps at most `capacity` lock files, dropping the least recently used', () => {
    const cache = new ParsedLockfiles({ capacity: 2 });
    const texts = [0, 1, 2].map((n) => JSON.stringify({ schemaVersion: 1, workflows: [{ name: `w${n}`, jobs: [{ name: 'j', steps: [{ run: 'true' }] }] }] }));
    cache.parse(texts[0]!);
    cache.parse(texts[1]!);
    cache.parse(texts[0]!); // used again: texts[1] is now the oldest
    cache.parse(texts[2]!);
    expect(cache.stats()).toEqual({ hits: 1, misses: 3, size: 2 });
    cache.parse(texts[0]!);
    cache.parse(texts[1]!);
    expect(cache.stats()).toEqual({ hits: 2, misses: 4, size: 2 });
  });

  it('hands out a frozen lock file that matching and planning read without changing', () => {
    const cache = new ParsedLockfiles();
    const parsed = cache.parse(LOCKFILE_EXAMPLE);
    if (!parsed.ok) throw new Error(parsed.error);
    const snapshot = JSON.stringify(parsed.lockfile);
    const event: CiEvent = { type: 'push', sourceKind: 'git', branch: 'main', ref: 'refs/heads/main', sha: 'a'.repeat(40), changedFiles: ['src/a.ts'] };
    expect(matchWorkflows(parsed.lockfile, event)[0]!.matched).toBe(true);
    planRun(parsed.lockfile.workflows[0]!);
    expect(JSON.stringify(parsed.lockfile)).toBe(snapshot);
    expect(Object.isFrozen(parsed.lockfile.workflows[0]!.jobs[0]!.steps)).toBe(true);
    expect(() => (parsed.lockfile.workflows as unknown[]).push({})).toThrow(TypeError);
  });
});
