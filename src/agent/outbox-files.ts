import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { jobStatusMessage, stepStatusMessage, type AgentMessageOf } from '../transport/index.js';

export type StatusMessage = AgentMessageOf<'job.status'> | AgentMessageOf<'step.status'>;

/** A status read back from disk, with the size it takes there. */
export interface StoredStatus {
  message: StatusMessage;
  bytes: number;
}

export interface OutboxLoad {
  entries: StoredStatus[];
  /** Files that were half written (a crash between write and rename): removed. */
  unfinished: number;
  /** Files whose content did not parse (a disk or filesystem fault): set aside as `*.corrupt`. */
  corrupt: string[];
}

const storedStatus = z.union([jobStatusMessage, stepStatusMessage]);
/** `<sequence>.json`: the sequence keeps the order statuses happened in across restarts. */
const ENTRY = /^(\d{16})\.json$/;
const UNFINISHED = /\.tmp$/;

/**
 * The outbox on disk: one file per status, written to a temporary name, fsync'd, renamed into place
 * and the directory fsync'd, so after a crash (power loss included) each entry is either whole or
 * absent; a torn write can only ever be a `.tmp` file, which is dropped on the next start. One file
 * per entry (not an append-only log) keeps removal an unlink and needs no compaction.
 */
export class OutboxFiles {
  private sequence = 0;
  private readonly files = new Map<string, string>();

  constructor(readonly dir: string) {}

  /** Create the directory if needed and read back every whole entry, oldest first. */
  load(): OutboxLoad {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const names = readdirSync(this.dir).sort();
    const entries: StoredStatus[] = [];
    const corrupt: string[] = [];
    let unfinished = 0;
    for (const name of names) {
      const path = join(this.dir, name);
      if (UNFINISHED.test(name)) {
        unlinkSync(path);
        unfinished += 1;
        continue;
      }
      const match = ENTRY.exec(name);
      if (!match) continue;
      this.sequence = Math.max(this.sequence, Number(match[1]));
      const text = readFileSync(path, 'utf8');
      const parsed = parseEntry(text);
      if (!parsed) {
        // Kept for an operator to look at, never resent: it is not a status this agent wrote.
        renameSync(path, `${path}.corrupt`);
        corrupt.push(name);
        continue;
      }
      this.files.set(parsed.messageId, name);
      entries.push({ message: parsed, bytes: Buffer.byteLength(text) });
    }
    return { entries, unfinished, corrupt };
  }

  /** Durable when it returns; returns the bytes written. Throws on an I/O error (the caller keeps the entry in memory). */
  save(message: StatusMessage): number {
    const name = `${String(++this.sequence).padStart(16, '0')}.json`;
    const text = JSON.stringify(message);
    const tmp = join(this.dir, `${name}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, name));
    this.syncDirectory();
    this.files.set(message.messageId, name);
    return Buffer.byteLength(text);
  }

  /**
   * Forget an acknowledged entry. The directory is not fsync'd here: if a crash brings the file
   * back, the status is sent once more and the orchestrator, which applies statuses idempotently,
   * acknowledges it again.
   */
  remove(messageId: string): void {
    const name = this.files.get(messageId);
    if (name === undefined) return;
    this.files.delete(messageId);
    try {
      unlinkSync(join(this.dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  private syncDirectory(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

function parseEntry(text: string): StatusMessage | undefined {
  try {
    const parsed = storedStatus.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
