import { z } from 'zod';
import { Spool } from '../spool/index.js';
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

/**
 * The outbox on disk: a spool of one file per status (see spool/), so after a crash, power loss
 * included, each entry is either whole or absent and statuses come back in the order they happened.
 * This file only keys the entries by the message id the orchestrator acknowledges.
 */
export class OutboxFiles {
  private readonly spool: Spool<StatusMessage>;
  private readonly seqs = new Map<string, number>();

  constructor(readonly dir: string) {
    this.spool = new Spool(dir, storedStatus);
  }

  /** Create the directory if needed and read back every whole entry, oldest first. */
  load(): OutboxLoad {
    const { entries, unfinished, corrupt } = this.spool.load();
    for (const { seq, value } of entries) this.seqs.set(value.messageId, seq);
    return { entries: entries.map(({ value, bytes }) => ({ message: value, bytes })), unfinished, corrupt };
  }

  /** Durable when it returns; returns the bytes written. Throws on an I/O error (the caller keeps the entry in memory). */
  save(message: StatusMessage): number {
    const { seq, bytes } = this.spool.append(message);
    this.seqs.set(message.messageId, seq);
    return bytes;
  }

  /**
   * Forget an acknowledged entry. If a crash brings the file back, the status is sent once more and
   * the orchestrator, which applies statuses idempotently, acknowledges it again.
   */
  remove(messageId: string): void {
    const seq = this.seqs.get(messageId);
    if (seq === undefined) return;
    this.seqs.delete(messageId);
    this.spool.remove(seq);
  }
}
