import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { syncDirectory, writeWhole } from './durable-file.js';

/** One entry read back or written: its place in the order, its value, and the bytes it takes on disk. */
export interface SpoolEntry<T> {
  seq: number;
  value: T;
  bytes: number;
}

export interface SpoolLoad<T> {
  /** Every whole entry, oldest first. */
  entries: SpoolEntry<T>[];
  /** Files a crash left half written (`*.tmp`): removed. */
  unfinished: number;
  /** Files whose content did not parse or fit the schema (a disk or filesystem fault): set aside as `*.corrupt`. */
  corrupt: string[];
}

export interface SpoolWrite {
  /**
   * False: leave the directory fsync to a later `syncDirectory()`, so several writes share one
   * (group commit). The entry's content is fsync'd either way; only its name waits.
   */
  syncDirectory?: boolean;
}

/**
 * `<sequence>.json`: the zero-padded sequence makes the name order the order entries were spooled
 * in, across restarts. The agent's outbox has used this layout from the start, so it stays.
 */
const ENTRY = /^(\d{16})\.json$/;
const SET_ASIDE = /^(\d{16})\.json\.corrupt$/;
const UNFINISHED = /\.tmp$/;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

const nameOf = (seq: number): string => `${String(seq).padStart(16, '0')}.json`;

/**
 * A directory of entries waiting to be sent on, one file per entry, as a print spool holds jobs for
 * a printer that is away. Each file is written whole (temporary name, fsync, rename, directory
 * fsync), so after a crash an entry is either whole or absent; a torn write can only be a `.tmp`
 * file, dropped on the next load. One file per entry (not an append-only log) keeps removal an
 * unlink, lets an entry be rewritten in place, and needs no compaction. Entries are checked against
 * `schema` when read back: only what this program wrote is ever sent on.
 *
 * Synchronous on purpose: callers need the entry durable before they answer for it, and the
 * volumes (statuses, log chunks of agents that cannot reach their orchestrator) are small.
 */
export class Spool<T> {
  private sequence = 0;

  constructor(
    readonly dir: string,
    private readonly schema: z.ZodType<T>,
  ) {}

  /** Create the directory if needed and read back every whole entry, oldest first. */
  load(): SpoolLoad<T> {
    mkdirSync(this.dir, { recursive: true, mode: DIR_MODE });
    const entries: SpoolEntry<T>[] = [];
    const corrupt: string[] = [];
    let unfinished = 0;
    for (const name of readdirSync(this.dir).sort()) {
      const path = join(this.dir, name);
      if (UNFINISHED.test(name)) {
        unlinkSync(path);
        unfinished += 1;
        continue;
      }
      const setAside = SET_ASIDE.exec(name);
      if (setAside) {
        // Its number is not handed out again: a later fault must not overwrite the evidence.
        this.sequence = Math.max(this.sequence, Number(setAside[1]));
        continue;
      }
      const match = ENTRY.exec(name);
      if (!match) continue;
      const seq = Number(match[1]);
      this.sequence = Math.max(this.sequence, seq);
      const text = readFileSync(path, 'utf8');
      const value = this.parse(text);
      if (value === undefined) {
        // Kept for an operator to look at, never sent: it is not an entry this program wrote.
        renameSync(path, `${path}.corrupt`);
        corrupt.push(name);
        continue;
      }
      entries.push({ seq, value, bytes: Buffer.byteLength(text) });
    }
    return { entries, unfinished, corrupt };
  }

  /** The bytes `value` takes as an entry, without writing it. */
  bytesOf(value: T): number {
    return Buffer.byteLength(JSON.stringify(value));
  }

  /** Write `value` as the newest entry. Whole and fsync'd on return; throws on an I/O error. */
  append(value: T, options: SpoolWrite = {}): SpoolEntry<T> {
    const seq = this.sequence + 1;
    const bytes = this.write(seq, value, options);
    this.sequence = seq;
    return { seq, value, bytes };
  }

  /**
   * Put `value` in the place of entry `seq`, keeping its position in the order. Atomic: after a
   * crash the file holds the old entry or the new one. Returns the bytes now written.
   */
  replace(seq: number, value: T, options: SpoolWrite = {}): number {
    return this.write(seq, value, options);
  }

  /**
   * Forget an entry. The directory is not fsync'd: if a crash brings the file back, the entry is
   * sent once more, which is what any at-least-once sender must expect anyway.
   */
  remove(seq: number): void {
    try {
      unlinkSync(join(this.dir, nameOf(seq)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Make every name written, replaced or removed so far survive a crash. */
  syncDirectory(): void {
    syncDirectory(this.dir);
  }

  private write(seq: number, value: T, options: SpoolWrite): number {
    const text = JSON.stringify(value);
    writeWhole(join(this.dir, nameOf(seq)), text, FILE_MODE);
    if (options.syncDirectory !== false) this.syncDirectory();
    return Buffer.byteLength(text);
  }

  private parse(text: string): T | undefined {
    try {
      const parsed = this.schema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}
