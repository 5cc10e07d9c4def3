import {
  isTerminalJobState,
  isTerminalStepState,
  type AgentMessage,
  type InFlightJob,
} from '../transport/index.js';
import { silentLogger, type AgentLogger } from './agent-log.js';
import type { OutboxFiles, StatusMessage } from './outbox-files.js';

export type { StatusMessage } from './outbox-files.js';

/** Room for thousands of final statuses (each a few KiB at most). */
export const DEFAULT_OUTBOX_MAX_BYTES = 16 * 1024 * 1024;

interface Entry {
  message: StatusMessage;
  /** Terminal statuses stay until the orchestrator acks them; others leave once sent. */
  awaitingAck: boolean;
  /** When it last went out; undefined while it has not been sent at all. */
  sentAt: number | undefined;
  /** What it counts against the bound (terminal statuses only). */
  bytes: number;
}

export interface OutboxOptions {
  /** Where terminal statuses are kept across restarts; without it they live in memory only. */
  files?: OutboxFiles;
  /** Above this many bytes of unacknowledged statuses the agent takes no new jobs. */
  maxBytes?: number;
  logger?: AgentLogger;
}

/** A job an earlier process of this agent finished; its unsent log lines died with that process. */
export interface RestoredJob extends InFlightJob {
  stepIndex: number;
}

export function isStatusMessage(message: AgentMessage): message is StatusMessage {
  return message.type === 'job.status' || message.type === 'step.status';
}

export function isTerminalStatus(message: StatusMessage): boolean {
  return message.type === 'job.status' ? isTerminalJobState(message.state) : isTerminalStepState(message.state);
}

/**
 * Job and step statuses in the order they happened. KiCI sent them without a net and lost a job's
 * result when the socket was down at the wrong moment; here a terminal status is written to disk
 * (when `files` is given) before it goes out, kept until `ack{messageId}` comes back, and sent
 * again after every reconnect, and after a restart of the agent, until then.
 *
 * The bound never drops a terminal status (that would lose a job's result): past it, the agent
 * stops taking new jobs (`full`), so the outbox grows only by the jobs already running.
 */
export class Outbox {
  private entries: Entry[] = [];
  private heldBytes = 0;
  private readonly maxBytes: number;
  private readonly logger: AgentLogger;
  private wasFull = false;
  /** Jobs whose results an earlier process left here, with the last step they reported. */
  private restoredJobs: RestoredJob[] = [];

  constructor(private readonly options: OutboxOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_OUTBOX_MAX_BYTES;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Take back what an earlier process of this agent left unacknowledged; returns how many. Throws
   * when the directory cannot be read or created (the agent cannot keep its promise then).
   */
  restore(): number {
    if (!this.options.files) return 0;
    const { entries, unfinished, corrupt } = this.options.files.load();
    if (unfinished > 0) this.logger.warn({ unfinished, dir: this.options.files.dir }, 'outbox: removed entries a crash left half written');
    if (corrupt.length > 0) {
      this.logger.error({ files: corrupt, dir: this.options.files.dir }, 'outbox: entries that do not parse were renamed *.corrupt and will not be sent');
    }
    const jobs = new Map<string, RestoredJob>();
    for (const { message, bytes } of entries) {
      this.entries.push({ message, awaitingAck: true, sentAt: undefined, bytes });
      this.heldBytes += bytes;
      const lastStep = message.type === 'step.status' ? message.stepIndex : (message.data?.stepResults.at(-1)?.index ?? 0);
      const known = jobs.get(message.jobId);
      jobs.set(message.jobId, { jobId: message.jobId, runId: message.runId, stepIndex: Math.max(known?.stepIndex ?? 0, lastStep) });
    }
    this.restoredJobs = [...jobs.values()];
    this.noteBound();
    return entries.length;
  }

  /** The jobs `restore` brought back, once: whoever takes them marks the gap in their logs. */
  takeRestoredJobs(): RestoredJob[] {
    const jobs = this.restoredJobs;
    this.restoredJobs = [];
    return jobs;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Bytes of terminal statuses not acknowledged yet. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** True while the unacknowledged statuses are over the bound: take no new jobs. */
  get full(): boolean {
    return this.heldBytes >= this.maxBytes;
  }

  /** `sentAt` is given when the message is going out right now. A terminal status is durable on return. */
  add(message: StatusMessage, sentAt?: number): void {
    const awaitingAck = isTerminalStatus(message);
    const bytes = awaitingAck ? this.persist(message) : 0;
    this.entries.push({ message, awaitingAck, sentAt, bytes });
    this.heldBytes += bytes;
    this.noteBound();
  }

  /** Returns true when the id was one we were waiting for. */
  ack(messageId: string): boolean {
    const index = this.entries.findIndex((e) => e.awaitingAck && e.message.messageId === messageId);
    if (index < 0) return false;
    const [entry] = this.entries.splice(index, 1);
    this.heldBytes -= entry!.bytes;
    try {
      this.options.files?.remove(messageId);
    } catch (err) {
      // Left on disk it is only sent again after a restart, and acked again.
      this.logger.warn({ err: (err as Error).message }, 'outbox: could not remove an acknowledged entry');
    }
    this.noteBound();
    return true;
  }

  /** Messages to (re)send now, oldest first; those that need no ack are forgotten. */
  takeForSend(now: number): StatusMessage[] {
    const out = this.entries.map((e) => e.message);
    this.entries = this.entries.filter((e) => e.awaitingAck);
    for (const entry of this.entries) entry.sentAt = now;
    return out;
  }

  /**
   * Terminal statuses sent at least `ageMs` ago and still not acked, marked as sent again. An
   * orchestrator that shed a frame under load gets it again without waiting for a reconnect.
   */
  dueForResend(now: number, ageMs: number): StatusMessage[] {
    const due = this.entries.filter((e) => e.awaitingAck && e.sentAt !== undefined && now - e.sentAt >= ageMs);
    for (const entry of due) entry.sentAt = now;
    return due.map((e) => e.message);
  }

  /** Only the ones sent while connected that still wait for their ack. */
  pendingAcks(): number {
    return this.entries.filter((e) => e.awaitingAck).length;
  }

  /** Jobs whose final job.status the orchestrator has not acknowledged yet. */
  unackedJobs(): InFlightJob[] {
    return this.entries
      .filter((e) => e.awaitingAck && e.message.type === 'job.status')
      .map((e) => ({ jobId: e.message.jobId, runId: e.message.runId }));
  }

  /** Write it down; on a disk error keep it in memory only and say so (it is still sent). */
  private persist(message: StatusMessage): number {
    const files = this.options.files;
    if (!files) return Buffer.byteLength(JSON.stringify(message));
    try {
      return files.save(message);
    } catch (err) {
      this.logger.error(
        { err: (err as Error).message, type: message.type, runId: message.runId, jobId: message.jobId, dir: files.dir },
        'outbox: could not write a final status to disk; it is kept in memory only and is lost if the agent restarts before it is acknowledged',
      );
      return Buffer.byteLength(JSON.stringify(message));
    }
  }

  /** Log once on the way over the bound and once on the way back under it. */
  private noteBound(): void {
    const full = this.full;
    if (full === this.wasFull) return;
    this.wasFull = full;
    const fields = { bytes: this.heldBytes, maxBytes: this.maxBytes, entries: this.pendingAcks() };
    if (full) {
      this.logger.error(
        fields,
        'outbox: unacknowledged final statuses exceed KICI_AGENT_OUTBOX_MAX_BYTES; no new jobs are taken until the orchestrator acknowledges them (none is dropped)',
      );
    } else {
      this.logger.info(fields, 'outbox: back under its bound; taking jobs again');
    }
  }
}
