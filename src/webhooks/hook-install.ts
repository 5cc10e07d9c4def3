import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOOK_MARKER } from './git-hook.js';
import { SPOOL_MARKER } from './hook-spool.js';

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** `<repo>/.git` for a working clone, `<repo>` itself for a bare repository (or a `.git` given directly). */
export async function gitDir(repoPath: string): Promise<string> {
  if (await isDirectory(join(repoPath, '.git'))) return join(repoPath, '.git');
  if ((await isDirectory(join(repoPath, 'objects'))) && (await isDirectory(join(repoPath, 'refs')))) return repoPath;
  throw new Error(`${repoPath} is not a git repository`);
}

async function existingHook(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Writes the hook as `post-receive`, mode 0700, via a temporary file and a rename so a push never
 * runs a half-written hook. Refuses to replace a hook kici did not write unless `force` is set.
 * Returns the hook's path. A spool the old hook left stays where it is, for the new one to send.
 */
export async function installHook(repoPath: string, script: string, options: { force?: boolean } = {}): Promise<string> {
  const dir = join(await gitDir(repoPath), 'hooks');
  await mkdir(dir, { recursive: true });
  const target = join(dir, 'post-receive');
  const current = await existingHook(target);
  if (current !== null && !current.includes(HOOK_MARKER) && !options.force) {
    throw new Error(`${target} already exists and was not written by kici; pass force to replace it`);
  }
  const temporary = `${target}.kici-${process.pid}.tmp`;
  await writeFile(temporary, script, { mode: 0o700 });
  await chmod(temporary, 0o700);
  await rename(temporary, target);
  return target;
}

export interface InstalledHook {
  path: string;
  gitDir: string;
  /** The source the hook reports to, read back from its `kici_source_id=` line. */
  sourceId: string | null;
  /** Whether it keeps undelivered pushes and can be run with `--flush`. */
  spools: boolean;
}

/** The kici hook in a repository, or null when it has none (or only someone else's). */
export async function installedHook(repoPath: string): Promise<InstalledHook | null> {
  const dir = await gitDir(repoPath);
  const path = join(dir, 'hooks', 'post-receive');
  const script = await existingHook(path);
  if (script === null || !script.includes(HOOK_MARKER)) return null;
  const quoted = /^kici_source_id=(.*)$/m.exec(script)?.[1];
  return { path, gitDir: dir, sourceId: quoted === undefined ? null : shellUnquote(quoted), spools: script.includes(SPOOL_MARKER) };
}

/** Undoes shellQuote: `'it'\''s'` → `it's`. */
function shellUnquote(quoted: string): string {
  if (quoted.length < 2 || !quoted.startsWith("'") || !quoted.endsWith("'")) return quoted;
  return quoted.slice(1, -1).replace(/'\\''/g, "'");
}
