/**
 * The git source provider: bare mirrors of git sources, the lock file at an exact commit (read once
 * per commit, checked once per content), and the files a ref update changed. Every git call goes
 * through runGit (no shell, a timeout, redacted errors).
 */
export type { RunGit, RunGitOptions } from './run-git.js';
export { GitError, isZeroSha, redactCredentials, resolveCommit, runGit } from './run-git.js';
export type { BranchTip, GitMirrorsOptions, GitSource, SyncOptions } from './git-mirror.js';
export { assertRemoteUrl, GitMirrors } from './git-mirror.js';
export type { FoundLockfile, LockfileAt, LockfileReaderOptions } from './lockfile-at.js';
export { CommitNotFoundError, LOCKFILE_PATH, LockfileReader, readLockfileAt } from './lockfile-at.js';
export { changedFiles } from './changed-files.js';
export { ParsedLockfiles, type ParsedLockfilesOptions } from './parsed-lockfiles.js';
