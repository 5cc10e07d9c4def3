/**
 * The texts invariant 7 searches, read from files: nodes' and agents' logs a chaos run collected.
 * A file missing or unreadable (a node that never started writes no log) is kept as an empty text
 * with its shortfall, so the report says it was not searched rather than nothing at all.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { ScannedText } from './secrets.js';

/** Read at most this much of each file: a leak shows in the first 64 MiB of a log as well as later. */
export const SECRET_TEXT_MAX_BYTES = 64 * 1024 * 1024;

export async function readSecretTexts(paths: readonly string[], maxBytes = SECRET_TEXT_MAX_BYTES): Promise<ScannedText[]> {
  const texts: ScannedText[] = [];
  for (const path of paths) texts.push({ source: path, ...(await readCapped(path, maxBytes)) });
  return texts;
}

async function readCapped(path: string, maxBytes: number): Promise<{ text: string; shortfall?: string }> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (e) {
    return unread(e);
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile()) return { text: '', shortfall: 'not a file: not searched' };
    const text = (await readStart(file, Math.min(stat.size, maxBytes))).toString('utf8');
    return stat.size > maxBytes ? { text, shortfall: `only its first ${maxBytes} of ${stat.size} bytes searched` } : { text };
  } catch (e) {
    return unread(e);
  } finally {
    await file.close();
  }
}

function unread(error: unknown): { text: string; shortfall: string } {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return { text: '', shortfall: code === 'ENOENT' ? 'does not exist: not searched' : `cannot be read (${code}): not searched` };
}

/** The first `length` bytes (fewer if the file shrank); one read may return less than asked. */
async function readStart(file: FileHandle, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}
