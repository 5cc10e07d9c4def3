import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'kici e2e',
  GIT_AUTHOR_EMAIL: 'e2e@kici.invalid',
  GIT_COMMITTER_NAME: 'kici e2e',
  GIT_COMMITTER_EMAIL: 'e2e@kici.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

/**
 * A bare "origin" repository (the one the orchestrator mirrors and whose post-receive hook posts
 * deliveries) and a working clone the test commits in and pushes from.
 */
export class GitRepo {
  readonly origin: string;
  readonly work: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.origin = path.join(dir, 'origin.git');
    this.work = path.join(dir, 'work');
    this.git(dir, 'init', '-q', '--bare', '-b', 'main', this.origin);
    this.git(dir, 'init', '-q', '-b', 'main', this.work);
    this.git(this.work, 'remote', 'add', 'origin', this.origin);
  }

  get originUrl(): string {
    return `file://${this.origin}`;
  }

  git(cwd: string, ...args: string[]): string {
    return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Write files (path → content; null deletes) and commit them on the current branch; returns the sha. */
  commit(files: Record<string, string | null>, message = 'change'): string {
    for (const [rel, content] of Object.entries(files)) {
      const full = path.join(this.work, rel);
      if (content === null) {
        rmSync(full, { force: true });
      } else {
        mkdirSync(path.dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
    this.git(this.work, 'add', '-A');
    this.git(this.work, 'commit', '-q', '--allow-empty', '-m', message);
    return this.head();
  }

  /** Commit a lock file (an object is written as JSON; a string as is) plus any other files. */
  commitLockfile(lockfile: unknown, other: Record<string, string | null> = {}, message = 'lock file'): string {
    const text = typeof lockfile === 'string' ? lockfile : `${JSON.stringify(lockfile, null, 2)}\n`;
    return this.commit({ '.kici/kici.lock.json': text, ...other }, message);
  }

  head(): string {
    return this.git(this.work, 'rev-parse', 'HEAD').trim();
  }

  checkout(branch: string, create = false): void {
    this.git(this.work, 'checkout', '-q', ...(create ? ['-b'] : []), branch);
  }

  /** Push a branch; the post-receive hook runs before this returns. Returns the hook's output. */
  push(branch = 'main'): string {
    return execFileSync('git', ['push', '-q', 'origin', branch], {
      cwd: this.work,
      encoding: 'utf8',
      env: { ...process.env, ...GIT_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  deleteRemoteBranch(branch: string): void {
    this.git(this.work, 'push', '-q', 'origin', '--delete', branch);
  }
}
