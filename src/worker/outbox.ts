import { Spool, type SpoolLoad } from '../spool/index.js';
import { gapMarkerText, stepKey, storedFile, type HeldReport, type HeldRunMessage, type StoredFile } from './outbox-report.js';

export { HELD_TYPES, gapMarkerText, isHeldMessage } from './outbox-report.js';
export type { HeldReport, HeldRunMessage, HeldType } from './outbox-report.js';

/** Room for hours of a busy worker's statuses and a good share of its logs. */
export const DEFAULT_WORKER_OUTBOX_MAX_BYTES = 64 * 1024 * 1024;

/** A held report, as the outbox keeps it. */
export interface StoredReport {
  /** Its place in the order; what `remove` takes. */
  seq: number;
  report: HeldReport;
  /** What it takes on disk, counted against the bound. */
  bytes: number;
  /** Set on a gap marker: the bytes of this step's log it stands for. */
  dropped?: number;
}

export interface DroppedLog {
  runId: string;
  jobId: string;
  agentId: string;
  stepIndex: number;
  /** Bytes of log text dropped (the chunk's text, not its file). */
  bytes: number;
}

export interface WorkerOutboxOptions {
  /** KICI_WORKER_OUTBOX_MAX_BYTES. */
  maxBytes: number;
  /** A log chunk was dropped to stay under the bound; its step's gap marker counts it. */
  onDropped?(dropped: DroppedLog): void;
  /**
   * The disk refused a drop or a removal. Nothing held is lost by it: the outbox stays over its
   * bound until a later append drops again, or a removed report comes back after a restart.
   */
  onDiskError?(err: Error, doing: string): void;
}

export interface OutboxLoaded {
  /** Reports an earlier process held, now held again. */
  entries: number;
  /** Half-written files a crash left: removed. */
  unfinished: number;
  /** Files that did not parse: set aside as `*.corrupt`, never replayed. */
  corrupt: string[];
}

type LogMessage = Extract<HeldRunMessage, { type: 'job_logs' }>;
type Held = StoredReport;

const isChunk = (e: Held): boolean => e.report.message.type === 'job_logs' && e.dropped === undefined;

/**
 * The edge worker's outbox: what its agents reported while no owner of the run could be reached,
 * fsync'd in its data directory, replayed oldest first on reconnect, also by a process restarted
 * after a kill -9 mid-outage.
 *
 * Bounded by `maxBytes` for logs only. Past it, the oldest log chunk goes first; each step whose
 * chunks went has one gap marker (a `job_logs` line saying how many bytes are missing) in the place
 * of its first dropped chunk. Drops always take a step's oldest chunks, so its dropped text is one
 * run of lines and a single marker there is exactly where a reader misses them. Statuses and markers
 * are never dropped, even past the bound: losing a job's result is worse than a few KiB over, and
 * they are small (a handful per job), so the overshoot stays small too.
 */
export class WorkerOutbox {
  /** Held reports in order: a Map keeps insertion order, and a marker set on its chunk's seq keeps that place. */
  private readonly held = new Map<number, Held>();
  /** The droppable entries (log chunks), oldest first. */
  private readonly chunks = new Map<number, Held>();
  /** Each step's gap marker, by `stepKey`. */
  private readonly markers = new Map<string, number>();
  /** How many held reports name each job: a job with any is not lost, whatever its agent says. */
  private readonly perJob = new Map<string, number>();
  /** How many held reports each run has: a run with any gets later reports held behind them. */
  private readonly perRun = new Map<string, number>();
  private heldBytes = 0;
  private chunkBytes = 0;
  private pendingSync: Promise<void> | undefined;
  readonly loaded: OutboxLoaded;

  /** Open (create) the directory and take back what an earlier process held, oldest first. Throws when it cannot. */
  static open(dir: string, options: WorkerOutboxOptions): WorkerOutbox {
    const spool = new Spool(dir, storedFile);
    return new WorkerOutbox(spool, options, spool.load());
  }

  private constructor(
    private readonly spool: Spool<StoredFile>,
    private readonly options: WorkerOutboxOptions,
    load: SpoolLoad<StoredFile>,
  ) {
    for (const { seq, value, bytes } of load.entries) this.track({ seq, report: { runId: value.runId, message: value.message }, bytes, dropped: value.dropped });
    this.loaded = { entries: load.entries.length, unfinished: load.unfinished, corrupt: load.corrupt };
    // A bound lowered since the last run applies now.
    if (this.heldBytes > this.options.maxBytes && this.shed() > 0) this.spool.syncDirectory();
  }

  get depth(): number {
    return this.held.size;
  }

  /** Does the outbox hold a report for this run? */
  holdsRun(runId: string): boolean {
    return (this.perRun.get(runId) ?? 0) > 0;
  }

  /** Does the outbox hold a report about this job (its final status, say, not yet applied)? */
  holdsJob(jobId: string): boolean {
    return (this.perJob.get(jobId) ?? 0) > 0;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /**
   * Durable once resolved. Rejects when the report cannot be written; one whose file was written but
   * whose directory fsync failed stays held and may be replayed (the run applies a report once).
   * Appends made in the same turn of the event loop share one directory fsync (group commit).
   */
  async append(report: HeldReport): Promise<void> {
    // Asked for first, so whatever this append changes on disk is synced even if it then fails.
    const synced = this.syncSoon();
    const file: StoredFile = { runId: report.runId, message: report.message };
    const message = report.message;
    if (message.type === 'job_logs' && this.heldBytes - this.chunkBytes + this.spool.bytesOf(file) > this.options.maxBytes) {
      // It cannot fit even with every other chunk gone: the bound would drop them all and then it,
      // so do just that, without writing it first.
      this.shed(true);
      this.dropArriving(report.runId, message);
    } else {
      const { seq, bytes } = this.spool.append(file, { syncDirectory: false });
      this.track({ seq, report: { runId: report.runId, message }, bytes });
      this.shed();
    }
    await synced;
  }

  /** The oldest held report, or undefined when nothing is held. */
  oldest(): StoredReport | undefined {
    const first = this.held.values().next();
    return first.done ? undefined : { ...first.value };
  }

  /** Everything held, oldest first (copies). */
  list(): StoredReport[] {
    return [...this.held.values()].map((e) => ({ ...e }));
  }

  /**
   * Forget a report its run has decided on. Pass what was sent (`oldest()`'s answer) as `sent`: if
   * the bound dropped that chunk while it was out, a marker took its place, and the marker then
   * keeps counting only the bytes that did not arrive. Without `sent`, whatever is at `seq` goes.
   * The directory is not fsync'd: after a crash a removed report may be replayed once more.
   */
  remove(seq: number, sent?: StoredReport): void {
    const entry = this.held.get(seq);
    if (!entry) return;
    if (sent && entry.report !== sent.report && entry.dropped !== undefined) {
      const message = sent.report.message;
      const arrived = sent.dropped ?? (message.type === 'job_logs' ? Buffer.byteLength(message.text) : 0);
      const rest = entry.dropped - arrived;
      if (rest > 0) {
        try {
          this.placeMarker(seq, entry.report.runId, entry.report.message as LogMessage, rest);
        } catch (err) {
          this.options.onDiskError?.(err as Error, 'recount a gap marker');
        }
        return;
      }
    }
    this.untrack(entry);
    try {
      this.spool.remove(seq);
    } catch (err) {
      this.options.onDiskError?.(err as Error, 'remove a replayed report');
    }
  }

  /** Drop the oldest log chunks while over the bound (or all of them); returns how many went. */
  private shed(all = false): number {
    let count = 0;
    while (all || this.heldBytes > this.options.maxBytes) {
      const oldest = this.chunks.values().next();
      if (oldest.done) break;
      try {
        this.dropChunk(oldest.value);
      } catch (err) {
        this.options.onDiskError?.(err as Error, 'drop a log chunk');
        break;
      }
      count += 1;
    }
    return count;
  }

  private dropChunk(chunk: Held): void {
    const message = chunk.report.message as LogMessage;
    const runId = chunk.report.runId;
    const bytes = Buffer.byteLength(message.text);
    const marker = this.markerOf(runId, message);
    if (marker) {
      // Marker first: a crash between the two leaves the chunk and a count that includes it, never a silent gap.
      this.placeMarker(marker.seq, runId, message, marker.dropped! + bytes);
      this.spool.remove(chunk.seq);
      this.untrack(chunk);
    } else {
      // In the chunk's place, by one atomic rename over its file: the reader sees the gap where the lines were.
      this.placeMarker(chunk.seq, runId, message, bytes);
    }
    this.options.onDropped?.({ runId, jobId: message.jobId, agentId: message.agentId, stepIndex: message.stepIndex, bytes });
  }

  /** A chunk that never fits, dropped before it is written: counted on its step's marker, or a new one last in line. */
  private dropArriving(runId: string, message: LogMessage): void {
    const bytes = Buffer.byteLength(message.text);
    const marker = this.markerOf(runId, message);
    if (marker) {
      this.placeMarker(marker.seq, runId, message, marker.dropped! + bytes);
    } else {
      const file = markerFile(runId, message, bytes);
      const written = this.spool.append(file, { syncDirectory: false });
      this.track({ seq: written.seq, report: { runId, message: file.message }, bytes: written.bytes, dropped: bytes });
    }
    this.options.onDropped?.({ runId, jobId: message.jobId, agentId: message.agentId, stepIndex: message.stepIndex, bytes });
  }

  /** Write the step's marker at `seq` (over whatever was there, keeping its place) saying `dropped` bytes. */
  private placeMarker(seq: number, runId: string, step: LogMessage, dropped: number): void {
    const file = markerFile(runId, step, dropped);
    const bytes = this.spool.replace(seq, file, { syncDirectory: false });
    const previous = this.held.get(seq);
    if (previous) this.untrack(previous, true);
    this.track({ seq, report: { runId, message: file.message }, bytes, dropped });
  }

  private markerOf(runId: string, message: LogMessage): Held | undefined {
    const seq = this.markers.get(stepKey(runId, message));
    return seq === undefined ? undefined : this.held.get(seq);
  }

  /** Set on an existing seq, a Map keeps the old place: that is how a marker stands where its chunk was. */
  private track(entry: Held): void {
    if (entry.dropped === undefined) delete entry.dropped;
    this.held.set(entry.seq, entry);
    this.heldBytes += entry.bytes;
    count(this.perJob, entry.report.message.jobId, 1);
    count(this.perRun, entry.report.runId, 1);
    if (isChunk(entry)) {
      this.chunks.set(entry.seq, entry);
      this.chunkBytes += entry.bytes;
    } else if (entry.dropped !== undefined) {
      this.markers.set(stepKey(entry.report.runId, entry.report.message as LogMessage), entry.seq);
    }
  }

  private untrack(entry: Held, keepPlace = false): void {
    if (!keepPlace) this.held.delete(entry.seq);
    this.heldBytes -= entry.bytes;
    count(this.perJob, entry.report.message.jobId, -1);
    count(this.perRun, entry.report.runId, -1);
    if (this.chunks.delete(entry.seq)) this.chunkBytes -= entry.bytes;
    if (entry.dropped !== undefined) {
      const key = stepKey(entry.report.runId, entry.report.message as LogMessage);
      if (this.markers.get(key) === entry.seq) this.markers.delete(key);
    }
  }

  /** One directory fsync for every append of this turn of the event loop. */
  private syncSoon(): Promise<void> {
    if (this.pendingSync) return this.pendingSync;
    const sync = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.pendingSync = undefined;
        try {
          this.spool.syncDirectory();
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    // Every append awaits it and hears a failure; this only keeps one whose own write failed first from leaving it unheard.
    sync.catch(() => undefined);
    this.pendingSync = sync;
    return sync;
  }
}

function markerFile(runId: string, step: LogMessage, dropped: number): StoredFile {
  const message: LogMessage = { type: 'job_logs', jobId: step.jobId, agentId: step.agentId, stepIndex: step.stepIndex, text: gapMarkerText(dropped) };
  return { runId, message, dropped };
}

function count(counts: Map<string, number>, key: string, by: 1 | -1): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
