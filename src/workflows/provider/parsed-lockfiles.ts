/**
 * Checked lock files by content. Most pushes change code, not the lock file, so the same text
 * comes back push after push; zod's check of it costs more CPU than the rest of matching, and its
 * answer depends on nothing but the text. One parse per content, then the cached answer.
 */
import { createHash } from 'node:crypto';
import { parseLockfile, type LockfileParseResult } from '../parse-lockfile.js';
import { Lru } from '../../lru/index.js';

export interface ParsedLockfilesOptions {
  /** Distinct lock files kept (least recently used dropped first). */
  capacity?: number;
}

export class ParsedLockfiles {
  private readonly cache: Lru<string, LockfileParseResult>;
  private hits = 0;
  private misses = 0;

  constructor(options: ParsedLockfilesOptions = {}) {
    this.cache = new Lru(options.capacity ?? 256);
  }

  /**
   * The result of `parseLockfile(text)`, errors included. `blob` is git's object id of the text
   * when the reader knows it (it names the content exactly); otherwise the text is hashed. The
   * result is frozen: every delivery of that content shares it, so a mutation anywhere downstream
   * fails loudly instead of leaking into the next delivery's runs.
   */
  parse(text: string, blob?: string): LockfileParseResult {
    const key = blob ? `blob:${blob}` : `sha256:${createHash('sha256').update(text).digest('hex')}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const result = deepFreeze(parseLockfile(text));
    this.cache.set(key, result);
    return result;
  }

  stats(): { hits: number; misses: number; size: number } {
    return { hits: this.hits, misses: this.misses, size: this.cache.size };
  }
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
  return value;
}
