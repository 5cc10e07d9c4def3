import type { LockfileParseResult } from '../parse-lockfile.js';
import { Lru } from '../../lru/index.js';
import { ParsedLockfiles } from './parsed-lockfiles.js';
import type { RunGit } from './run-git.js';
import { resolveCommit, runGit as defaultRunGit } from './run-git.js';

export const LOCKFILE_PATH = '.kici/kici.lock.json';

/** A missing lock file is not an error: that commit simply asks for no runs. */
export type LockfileAt = { kind: 'missing' } | FoundLockfile;

/** `blob` is git's object id of the file (from `ls-tree`): it names the content, whatever the commit. */
export type FoundLockfile = { kind: 'found'; text: string; blob?: string };

/** The commit itself is unknown to the mirror: a sync is missing or the sha is wrong. */
export class CommitNotFoundError extends Error {
  constructor(readonly sha: string) {
    super(`commit ${sha} is not in the mirror`);
    this.name = 'CommitNotFoundError';
  }
}

export interface LockfileReaderOptions {
  runGit?: RunGit;
  /** Entries kept; a commit's lock file never changes, so entries never go stale. */
  capacity?: number;
  maxBytes?: number;
  /** Checked lock files kept by content (see ParsedLockfiles). */
  parsedCapacity?: number;
}

const FULL_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * Reads `.kici/kici.lock.json` exactly as it is at a commit, with an LRU over (mirror, commit), and
 * checks it with an LRU over its content: a new commit with an unchanged lock file is read once
 * (one git call) but never checked again.
 */
export class LockfileReader {
  readonly parsed: ParsedLockfiles;
  private readonly cache: Lru<string, LockfileAt>;
  private readonly run: RunGit;
  private readonly maxBytes: number;
  private hits = 0;
  private misses = 0;

  constructor(options: LockfileReaderOptions = {}) {
    this.cache = new Lru(options.capacity ?? 256);
    this.run = options.runGit ?? defaultRunGit;
    this.maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
    this.parsed = new ParsedLockfiles({ capacity: options.parsedCapacity });
  }

  /** `parseLockfile` of a lock file read here, once per content (`parsed.stats()` counts hits). */
  parse(lock: FoundLockfile): LockfileParseResult {
    return this.parsed.parse(lock.text, lock.blob);
  }

  async readAt(mirrorDir: string, sha: string): Promise<LockfileAt> {
    // Only a full object id names one commit forever; branch names and short ids are resolved first.
    if (FULL_SHA.test(sha)) {
      const cached = this.cache.get(`${mirrorDir}\0${sha}`);
      if (cached) return this.hit(cached);
    }
    const commit = await resolveCommit(this.run, mirrorDir, sha);
    if (commit === null) throw new CommitNotFoundError(sha);
    const key = `${mirrorDir}\0${commit}`;
    const cached = this.cache.get(key);
    if (cached) return this.hit(cached);
    this.misses++;
    const result = await this.load(mirrorDir, commit);
    this.cache.set(key, result);
    return result;
  }

  stats(): { hits: number; misses: number } {
    return { hits: this.hits, misses: this.misses };
  }

  private hit(result: LockfileAt): LockfileAt {
    this.hits++;
    return result;
  }

  private async load(mirrorDir: string, commit: string): Promise<LockfileAt> {
    // `ls-tree -l` tells a missing path from a present one and gives the size before reading it.
    const listing = (await this.run(['ls-tree', '-l', commit, '--', LOCKFILE_PATH], { cwd: mirrorDir })).trim();
    const match = /^\d+ (\w+) ([0-9a-f]+)\s+(\d+|-)\t/.exec(listing);
    if (!match || match[1] !== 'blob') return { kind: 'missing' };
    if (Number(match[3]) > this.maxBytes) {
      throw new Error(`${LOCKFILE_PATH} at ${commit} is larger than ${this.maxBytes} bytes`);
    }
    const text = await this.run(['show', `${commit}:${LOCKFILE_PATH}`], { cwd: mirrorDir });
    return { kind: 'found', text, blob: match[2] };
  }
}

const sharedReader = new LockfileReader();

/** The lock file at a commit of a mirror, through a process-wide cache. */
export function readLockfileAt(mirrorDir: string, sha: string): Promise<LockfileAt> {
  return sharedReader.readAt(mirrorDir, sha);
}
