import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Put `text` at `path` so that a crash (power loss included) leaves either the whole new content or
 * what was there before, never a torn mix: write a `.tmp` sibling, fsync it, rename it over `path`.
 * The rename itself is durable only once the directory is fsync'd (`syncDirectory`), which callers
 * may share between several files.
 */
export function writeWhole(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Make the names created, renamed or removed in `dir` survive a crash. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `writeWhole`, then the directory synced: the new content is durable when it returns. */
export function replaceFileDurably(path: string, text: string, mode: number): void {
  writeWhole(path, text, mode);
  syncDirectory(dirname(path));
}
