import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Git with a fixed identity and no user or system config, so tests behave the same everywhere. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const env = {
    ...process.env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
  };
  const { stdout } = await exec('git', args, { cwd, env });
  return stdout.trim();
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `kici-${prefix}-`));
}

/** A working repository on branch main. */
export async function newRepo(root: string): Promise<string> {
  const dir = join(root, 'work');
  await mkdir(dir, { recursive: true });
  await git(dir, 'init', '-q', '-b', 'main');
  return dir;
}

/** Writes files and commits them; returns the new commit id. */
export async function commit(repo: string, files: Record<string, string>, message = 'change'): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(repo, path)), { recursive: true });
    await writeFile(join(repo, path), content);
  }
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}
