import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunGit } from '../../../src/workflows/provider/index.js';
import {
  changedFiles,
  CommitNotFoundError,
  GitError,
  GitMirrors,
  LockfileReader,
  runGit,
} from '../../../src/workflows/provider/index.js';
import { commit, git, newRepo, tempDir } from './git-fixture.js';

const ZERO = '0'.repeat(40);

/** A lock file read at a commit: its text and git's id of that content. */
const found = (text: string) => ({ kind: 'found', text, blob: expect.stringMatching(/^[0-9a-f]{40}$/) });

let root: string;
let repo: string;
let url: string;
let mirrors: GitMirrors;
let mirrorDir: string;
const commits: Record<string, string> = {};

beforeAll(async () => {
  root = await tempDir('mirror');
  repo = await newRepo(root);
  url = `file://${repo}`;
  commits.first = await commit(repo, { 'README.md': 'hello\n' }, 'first');
  commits.second = await commit(repo, { '.kici/kici.lock.json': '{"schemaVersion":1}\n', 'src/a.ts': 'a\n' }, 'second');
  mirrors = new GitMirrors({ dataDir: join(root, 'data') });
  mirrorDir = await mirrors.syncMirror({ id: 'src_demo', url });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('GitMirrors', () => {
  it('clones a bare mirror under <dataDir>/mirrors/<sourceId>.git', async () => {
    expect(mirrorDir).toBe(join(root, 'data', 'mirrors', 'src_demo.git'));
    expect(await git(mirrorDir, 'rev-parse', '--is-bare-repository')).toBe('true');
    expect(await git(mirrorDir, 'rev-parse', 'refs/heads/main')).toBe(commits.second);
  });

  it('fetches new commits and prunes deleted branches', async () => {
    await git(repo, 'branch', 'doomed');
    await mirrors.syncMirror({ id: 'src_demo', url });
    expect(await git(mirrorDir, 'branch', '--list', 'doomed')).toContain('doomed');
    const third = await commit(repo, { 'src/b.ts': 'b\n' }, 'third');
    await git(repo, 'branch', '-D', 'doomed');
    await mirrors.syncMirror({ id: 'src_demo', url });
    expect(await git(mirrorDir, 'rev-parse', 'refs/heads/main')).toBe(third);
    expect(await git(mirrorDir, 'branch', '--list', 'doomed')).toBe('');
  });

  it('skips the fetch when the wanted commit is already there', async () => {
    const calls: string[][] = [];
    const counting: RunGit = (args, options) => {
      calls.push([...args]);
      return runGit(args, options);
    };
    const quiet = new GitMirrors({ dataDir: join(root, 'data'), runGit: counting });
    await quiet.syncMirror({ id: 'src_demo', url }, { wantSha: commits.first });
    expect(calls.some((args) => args[0] === 'fetch' || args[0] === 'clone')).toBe(false);
  });

  it('serialises concurrent syncs: one in flight, later callers share one follow-up', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let syncs = 0;
    const counting: RunGit = async (args, options) => {
      const isSync = args[0] === 'fetch' || args[0] === 'clone';
      if (isSync) {
        syncs++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
      }
      try {
        return await runGit(args, options);
      } finally {
        if (isSync) inFlight--;
      }
    };
    const shared = new GitMirrors({ dataDir: join(root, 'data'), runGit: counting });
    const results = await Promise.all([1, 2, 3, 4].map(() => shared.syncMirror({ id: 'src_demo', url })));
    expect(new Set(results)).toEqual(new Set([mirrorDir]));
    expect(maxInFlight).toBe(1);
    expect(syncs).toBe(2);
  });

  it('refuses URLs that are not http(s) or file, or that carry credentials', async () => {
    await expect(mirrors.syncMirror({ id: 'x', url: 'ext::sh -c evil' })).rejects.toThrow(/http\(s\):\/\/ or file:\/\//);
    await expect(mirrors.syncMirror({ id: 'x', url: 'https://user:pw@example.invalid/r.git' })).rejects.toThrow(/credentials/);
    expect(() => mirrors.mirrorDir('../escape')).toThrow();
  });

  it('a failed clone leaves no directory and its error hides the token', async () => {
    const token = 'tok_very_secret_value';
    const missing = `file://${join(root, 'no-such-repo')}`;
    const error = await mirrors.syncMirror({ id: 'src_missing', url: missing, token }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect(String((error as Error).message)).not.toContain(token);
    await expect(stat(join(root, 'data', 'mirrors', 'src_missing.git'))).rejects.toThrow();
  });
});

describe('LockfileReader', () => {
  it('finds the lock file at a commit that has it, and caches by commit', async () => {
    const reader = new LockfileReader();
    expect(await reader.readAt(mirrorDir, commits.second)).toEqual(found('{"schemaVersion":1}\n'));
    expect(await reader.readAt(mirrorDir, commits.second)).toEqual(found('{"schemaVersion":1}\n'));
    expect(reader.stats()).toEqual({ hits: 1, misses: 1 });
  });

  it('checks a lock file once per content: a commit that left it alone is read, but not parsed again', async () => {
    const reader = new LockfileReader();
    const untouched = await commit(repo, { 'src/c.ts': 'c\n' }, 'code only');
    await mirrors.syncMirror({ id: 'src_demo', url });
    const before = await reader.readAt(mirrorDir, commits.second);
    const after = await reader.readAt(mirrorDir, untouched);
    if (before.kind !== 'found' || after.kind !== 'found') throw new Error('lock file expected');
    expect(after.blob).toBe(await git(mirrorDir, 'rev-parse', `${commits.second}:.kici/kici.lock.json`));
    expect(after.blob).toBe(before.blob);
    const first = reader.parse(before);
    expect(reader.parse(after)).toBe(first);
    expect(reader.stats()).toEqual({ hits: 0, misses: 2 });
    expect(reader.parsed.stats()).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it('evicts the least recently used commit when full', async () => {
    const reader = new LockfileReader({ capacity: 1 });
    await reader.readAt(mirrorDir, commits.second);
    await reader.readAt(mirrorDir, commits.first);
    await reader.readAt(mirrorDir, commits.second);
    expect(reader.stats()).toEqual({ hits: 0, misses: 3 });
  });

  it('resolves branch names before caching, so a moved branch is never served stale', async () => {
    const reader = new LockfileReader();
    expect(await reader.readAt(mirrorDir, 'refs/heads/main')).toEqual(found('{"schemaVersion":1}\n'));
    await commit(repo, { '.kici/kici.lock.json': '{"schemaVersion":1,"edited":true}\n' }, 'edit lock');
    await mirrors.syncMirror({ id: 'src_demo', url });
    expect(await reader.readAt(mirrorDir, 'refs/heads/main')).toEqual(found('{"schemaVersion":1,"edited":true}\n'));
  });

  it('reports missing at a commit without one', async () => {
    expect(await new LockfileReader().readAt(mirrorDir, commits.first)).toEqual({ kind: 'missing' });
  });

  it('throws CommitNotFoundError for a commit the mirror does not have', async () => {
    await expect(new LockfileReader().readAt(mirrorDir, 'f'.repeat(40))).rejects.toBeInstanceOf(CommitNotFoundError);
  });

  it('refuses revisions that look like options', async () => {
    await expect(new LockfileReader().readAt(mirrorDir, '--output=/tmp/x')).rejects.toThrow(/not a valid git revision/);
  });
});

describe('changedFiles', () => {
  it('lists before..after for an update', async () => {
    await mirrors.syncMirror({ id: 'src_demo', url });
    expect(await changedFiles(mirrorDir, commits.first, commits.second, 'main')).toEqual(['.kici/kici.lock.json', 'src/a.ts']);
  });

  it('diffs a new branch from its merge-base with the default branch', async () => {
    await git(repo, 'checkout', '-q', '-b', 'feature', commits.second);
    const tip = await commit(repo, { 'docs/guide.md': 'g\n' }, 'feature work');
    await git(repo, 'checkout', '-q', 'main');
    await mirrors.syncMirror({ id: 'src_demo', url });
    expect(await changedFiles(mirrorDir, ZERO, tip, 'main')).toEqual(['docs/guide.md']);
  });

  it('lists every file when the branch shares no history with the default branch', async () => {
    await git(repo, 'checkout', '-q', '--orphan', 'pages');
    await git(repo, 'rm', '-rq', '--cached', '.');
    await rm(join(repo, 'src'), { recursive: true, force: true });
    const root = await commit(repo, { 'index.html': '<p>\n', 'css/site.css': 'a{}\n' }, 'root');
    await git(repo, 'checkout', '-q', '-f', 'main');
    await mirrors.syncMirror({ id: 'src_demo', url });
    const files = await changedFiles(mirrorDir, ZERO, root, 'main');
    expect(files).toContain('index.html');
    expect(files).toContain('css/site.css');
  });

  it('lists every file on the first push of the default branch itself', async () => {
    // The mirror's main already points at the pushed commit, so a merge-base would find nothing.
    await mirrors.syncMirror({ id: 'src_demo', url });
    const files = await changedFiles(mirrorDir, ZERO, commits.second, 'main', undefined, 'main');
    expect(files).toContain('.kici/kici.lock.json');
    expect(files).toContain('src/a.ts');
  });

  it('a deleted ref changes nothing', async () => {
    expect(await changedFiles(mirrorDir, commits.first, ZERO, 'main')).toEqual([]);
  });
});
