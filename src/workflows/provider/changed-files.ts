import type { RunGit } from './run-git.js';
import { assertRevision, GitError, isZeroSha, resolveCommit, runGit as defaultRunGit } from './run-git.js';

function splitNul(output: string): string[] {
  return output.split('\0').filter((name) => name !== '');
}

async function diffNames(run: RunGit, dir: string, from: string, to: string): Promise<string[]> {
  // --no-renames lists both sides of a rename, so a path filter sees the old and the new name.
  return splitNul(await run(['diff', '--name-only', '--no-renames', '-z', from, to, '--'], { cwd: dir }));
}

async function allFiles(run: RunGit, dir: string, commit: string): Promise<string[]> {
  return splitNul(await run(['ls-tree', '-r', '--name-only', '-z', commit], { cwd: dir }));
}

async function mergeBase(run: RunGit, dir: string, commit: string, defaultBranch: string): Promise<string | null> {
  const branchTip = await resolveCommit(run, dir, `refs/heads/${defaultBranch}`);
  if (branchTip === null) return null;
  try {
    return (await run(['merge-base', commit, branchTip], { cwd: dir })).trim() || null;
  } catch (error) {
    if (error instanceof GitError && error.exitCode === 1) return null; // unrelated histories
    throw error;
  }
}

/**
 * Files changed by a ref update, for path filters: `before..after`; for a new branch (before is
 * all zeros, or a force-push left `before` unknown) from its merge-base with the default branch;
 * every file of the commit when it shares no history with it, or when the new branch is the
 * default branch itself (its first push: the mirror's default branch already points at `after`,
 * so a merge-base would say nothing changed). A deleted ref changes nothing.
 */
export async function changedFiles(
  mirrorDir: string,
  before: string,
  after: string,
  defaultBranch: string,
  run: RunGit = defaultRunGit,
  branch?: string,
): Promise<string[]> {
  if (isZeroSha(after)) return [];
  assertRevision(defaultBranch);
  const target = await resolveCommit(run, mirrorDir, after);
  if (target === null) throw new Error(`commit ${after} is not in the mirror`);
  const from = isZeroSha(before) ? null : await resolveCommit(run, mirrorDir, before);
  const base = from ?? (branch === defaultBranch ? null : await mergeBase(run, mirrorDir, target, defaultBranch));
  const names = base === null ? await allFiles(run, mirrorDir, target) : await diffNames(run, mirrorDir, base, target);
  return [...new Set(names)].sort();
}
