/**
 * Log storage on disk, under one directory (KICI_DATA_DIR/raft in production):
 * - `NNNNNNNNNNNNNNNN.log` segments, append-only, every record framed with length + CRC-32;
 *   entries and hard states share them, so one fsync makes a whole Ready batch durable;
 * - `snapshot.bin`, replaced atomically (write temp, fsync, rename, fsync the directory).
 * Every file operation goes through a Disk (disk.ts), so the simulator runs this very code over a
 * disk that tears writes and fails fsyncs.
 *
 * The log as written: a later entry at index i supersedes everything from i on (that is how
 * conflicting suffixes are truncated in an append-only file); a RESET record (a snapshot from the
 * leader) supersedes everything before it. Replay rebuilds that log without looking at the
 * snapshot and only then reconciles the two, so a stale record at or below the snapshot index
 * never decides what follows it.
 *
 * Compaction deletes only a leading run of segments whose entries the snapshot covers. Whatever
 * subset of that run a crash lets survive, the rest replays to the same log from its first entry
 * on; a gap in the segment numbers marks where a deletion stopped, and what precedes it is ignored.
 *
 * Damage: only a torn tail of the last segment (a bad or incomplete record with no intact record
 * after it, i.e. a write cut short) is repaired. Any other damage refuses to open, naming the file
 * and offset: guessing could roll back a term or a vote. After a failed fsync every write refuses
 * (disk.ts says why). The whole live log is also kept in memory: it holds cluster metadata only.
 */
import * as path from 'node:path';
import { nodeDisk, type Disk, type FileHandle } from './disk.js';
import { copyConf } from './membership.js';
import { reconcile, replaySegments, type Segment } from './log-replay.js';
import {
  MAX_ENTRY_DATA_BYTES,
  MAX_RECORD_BYTES,
  decodeSnapshot,
  entryPayload,
  frame,
  hardStatePayload,
  resetPayload,
  scanRecords,
  snapshotPayload,
} from './record.js';
import {
  CompactedError,
  StorageFailedError,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type WritableLogStorage,
} from './types.js';

export interface FileStorageOptions {
  /** Membership of a brand-new node; ignored once the directory holds a snapshot. */
  conf?: ConfState;
  /** Start a new segment once the current one reaches this size. Default 8 MiB. */
  segmentBytes?: number;
  /** The disk to write through. Default: the real one (node:fs). */
  disk?: Disk;
}

/** What opening the directory had to repair. */
export interface Recovery {
  /** Bytes of a torn tail cut off the last segment. */
  truncatedBytes: number;
  /** Segment files removed: left over by a compaction or snapshot install that a crash cut short. */
  droppedSegments: number;
  discardedTempSnapshot: boolean;
  /** Entries after the snapshot dropped because the log disagreed with it (an install cut short). */
  supersededEntries: number;
}

const SNAPSHOT_FILE = 'snapshot.bin';
const SNAPSHOT_TEMP = 'snapshot.bin.tmp';

export class FileStorage implements WritableLogStorage {
  readonly recovery: Recovery = {
    truncatedBytes: 0,
    droppedSegments: 0,
    discardedTempSnapshot: false,
    supersededEntries: 0,
  };
  private readonly dir: string;
  private readonly disk: Disk;
  private readonly segmentBytes: number;
  private readonly release: () => void;
  private snap!: Snapshot;
  private hard: HardState = { term: 0, vote: 0, commit: 0 };
  /** ents[k] has index snap.meta.index + 1 + k. */
  private ents: Entry[] = [];
  private segments: Segment[] = [];
  private handle: FileHandle | undefined;
  private size = 0;
  private dirty = false;
  private dirDirty = false;
  private failed: StorageFailedError | undefined;

  constructor(dir: string, opts: FileStorageOptions = {}) {
    this.dir = dir;
    this.disk = opts.disk ?? nodeDisk;
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 * 1024;
    this.disk.mkdirp(dir);
    this.release = this.disk.lock(dir);
    try {
      this.open(opts.conf ?? { voters: [], learners: [] });
    } catch (e) {
      this.abandon();
      throw e;
    }
  }

  // ---- read side -----------------------------------------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hard }, confState: copyConf(this.snap.meta.conf) };
  }

  hardState(): HardState {
    return { ...this.hard };
  }

  firstIndex(): number {
    return this.snap.meta.index + 1;
  }

  lastIndex(): number {
    return this.snap.meta.index + this.ents.length;
  }

  term(i: number): number {
    const s = this.snap.meta.index;
    if (i === s) return this.snap.meta.term;
    if (i < s) throw new CompactedError(i);
    if (i > this.lastIndex()) throw new Error(`file storage: index ${i} is beyond last index ${this.lastIndex()}`);
    return this.ents[i - s - 1].term;
  }

  entries(lo: number, hi: number): Entry[] {
    const s = this.snap.meta.index;
    if (lo <= s) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new Error(`file storage: entries up to ${hi - 1} not available`);
    return this.ents.slice(lo - s - 1, hi - s - 1);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  // ---- write side ----------------------------------------------------------------------------

  append(entries: Entry[]): void {
    this.usable();
    if (entries.length === 0) return;
    const s = this.snap.meta.index;
    const first = entries[0].index;
    if (first > this.lastIndex() + 1) throw new Error(`file storage: gap before index ${first} (last ${this.lastIndex()})`);
    const skip = Math.max(0, s + 1 - first); // already inside the snapshot
    if (skip >= entries.length) return;
    const fresh = skip === 0 ? entries : entries.slice(skip);
    // A record the reader would reject must never be acknowledged: refuse before writing.
    for (const e of fresh) {
      if (e.data.length > MAX_ENTRY_DATA_BYTES) {
        throw new Error(
          `file storage: entry ${e.index} holds ${e.data.length} bytes, more than a log record holds (${MAX_ENTRY_DATA_BYTES})`,
        );
      }
    }
    this.write(fresh.map((e) => frame(entryPayload(e))));
    this.ents.length = fresh[0].index - s - 1;
    for (const e of fresh) this.ents.push(e);
    this.current().maxIndex = Math.max(this.current().maxIndex, fresh[fresh.length - 1].index);
  }

  setHardState(hs: HardState): void {
    this.write([frame(hardStatePayload(hs))]);
    this.hard = { ...hs };
  }

  sync(): void {
    this.usable();
    if (this.dirty) {
      try {
        this.disk.fsync(this.handle!);
      } catch (e) {
        this.fail(`fsync of ${this.current().file} failed (${reason(e)})`);
      }
      this.dirty = false;
    }
    if (this.dirDirty) {
      try {
        this.disk.fsyncDir(this.dir);
      } catch (e) {
        this.fail(`fsync of directory ${this.dir} failed (${reason(e)})`);
      }
      this.dirDirty = false;
    }
  }

  /** A snapshot from the leader replaces the whole log. */
  applySnapshot(snap: Snapshot): void {
    this.usable();
    // A joiner has no configuration yet: the leader's bootstrap snapshot (index 0) teaches it one.
    const joining = snap.meta.index === 0 && this.snap.meta.conf.voters.length === 0;
    if (snap.meta.index <= this.snap.meta.index && !joining) return;
    this.writeSnapshot(snap);
    this.snap = cloneSnapshot(snap);
    this.ents = [];
    this.restartLog();
  }

  compact(index: number, snapshotData: Uint8Array, conf: ConfState): void {
    this.usable();
    const s = this.snap.meta.index;
    if (index <= s) return;
    if (index > this.lastIndex()) throw new Error(`file storage: compact ${index} beyond last index ${this.lastIndex()}`);
    const snap: Snapshot = { meta: { index, term: this.term(index), conf: copyConf(conf) }, data: snapshotData };
    this.sync(); // entries up to index must be durable before the snapshot claims them
    this.writeSnapshot(snap);
    this.ents = this.ents.slice(index - s);
    this.snap = snap;
    // Only a leading run: a later segment may hold the live entry at `index` while an earlier one
    // still holds a superseded entry there, and replay needs the earlier one to read the later.
    let run = 0;
    while (run < this.segments.length - 1 && this.segments[run].maxIndex <= index) run++;
    this.dropLeadingSegments(run);
  }

  close(): void {
    if (this.handle === undefined) return;
    try {
      if (!this.failed) this.sync();
    } finally {
      this.abandon();
    }
  }

  // ---- failure -------------------------------------------------------------------------------

  /** The storage no longer knows what is on disk: this call and every later write refuse. */
  private fail(message: string): never {
    this.failed = new StorageFailedError(`file storage ${this.dir}: ${message}; the node must stop`);
    throw this.failed;
  }

  private usable(): void {
    if (this.failed) throw this.failed;
  }

  private abandon(): void {
    if (this.handle !== undefined) closeQuietly(this.disk, this.handle);
    this.handle = undefined;
    this.release();
  }

  // ---- segments ------------------------------------------------------------------------------

  private current(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private write(bufs: Buffer[]): void {
    this.usable();
    if (this.size >= this.segmentBytes) this.rotate(); // before: a failed rotation writes nothing
    const buf = bufs.length === 1 ? bufs[0] : Buffer.concat(bufs);
    try {
      this.disk.write(this.handle!, buf);
    } catch (e) {
      // A partial record left behind would later be taken for damage (or cut, with what follows):
      // undo it, so the file ends with the last intact record again.
      try {
        this.disk.truncateHandle(this.handle!, this.size);
      } catch (undo) {
        this.fail(`a write to ${this.current().file} failed (${reason(e)}) and could not be undone (${reason(undo)})`);
      }
      throw new Error(`file storage: a write to ${this.current().file} failed and was undone: ${reason(e)}`, { cause: e });
    }
    this.size += buf.length;
    this.dirty = true;
  }

  /** Start the next segment; it opens with the hard state, so that older ones can go. */
  private rotate(): void {
    this.sync(); // the old segment never changes again
    const seq = this.current().seq + 1;
    const file = this.segmentFile(seq);
    // Truncate: a rotation that failed earlier may have left part of a record in it.
    const h = this.disk.openTruncate(file);
    const head = frame(hardStatePayload(this.hard));
    try {
      this.disk.write(h, head);
    } catch (e) {
      // The old segment stays current. Whatever reached the new file is the current hard state,
      // and the next write retries the rotation (emptying the file) before anything else.
      closeQuietly(this.disk, h);
      throw e;
    }
    closeQuietly(this.disk, this.handle!); // already synced: nothing of it can be lost
    this.handle = h;
    this.size = head.length;
    this.dirty = true;
    this.dirDirty = true;
    this.segments.push({ seq, file, maxIndex: 0 });
  }

  /**
   * After a snapshot from the leader: mark in a fresh segment that the log restarts after it, then
   * every older segment can go.
   */
  private restartLog(): number {
    try {
      this.rotate();
      this.write([frame(resetPayload(this.snap.meta.index)), frame(hardStatePayload(this.hard))]);
      this.sync();
    } catch (e) {
      // The snapshot file is already ahead of a log without its RESET: entries appended now would
      // follow a stale entry at the snapshot index and be read back as superseded.
      if (e instanceof StorageFailedError) throw e;
      this.fail(`the log could not be restarted after snapshot ${this.snap.meta.index} (${reason(e)})`);
    }
    return this.dropLeadingSegments(this.segments.length - 1);
  }

  /** Delete the first `count` segments, oldest first; returns how many went. */
  private dropLeadingSegments(count: number): number {
    let removed = 0;
    for (; removed < count; removed++) {
      try {
        this.disk.remove(this.segments[removed].file);
      } catch {
        // The compaction is already durable; what is left is still a leading run, which replay
        // reads correctly and the next compaction deletes.
        break;
      }
    }
    if (removed === 0) return 0;
    this.segments.splice(0, removed);
    this.dirDirty = true;
    this.sync();
    return removed;
  }

  private segmentFile(seq: number): string {
    return path.join(this.dir, `${String(seq).padStart(16, '0')}.log`);
  }

  // ---- opening -------------------------------------------------------------------------------

  /** Read and check everything first; repair only once the directory is known to be usable. */
  private open(conf: ConfState): void {
    this.discardTemp();
    const loaded = this.loadSnapshot();
    this.snap = loaded ?? emptySnapshot(conf);
    const replay = replaySegments(this.disk, this.dir);
    const { kept, conflict, superseded } = reconcile(replay.log, this.snap.meta.index, this.snap.meta.term);
    this.hard = replay.hard;
    this.ents = kept;
    if (this.hard.commit > this.lastIndex()) {
      throw new StorageFailedError(
        `file storage ${this.dir}: the hard state commits index ${this.hard.commit} but the log ends at ${this.lastIndex()}: committed entries are lost; refusing to start`,
      );
    }
    if (!loaded) this.writeSnapshot(this.snap);
    for (const file of replay.leftovers) {
      try {
        this.disk.remove(file);
      } catch {
        continue; // replay ignores it anyway (it still precedes the gap): try again next time
      }
      this.recovery.droppedSegments++;
      this.dirDirty = true;
    }
    const fresh = replay.segments.length === 0;
    this.segments = replay.segments;
    this.openCurrent(replay.lastIntact);
    if (!fresh && !replay.lastHasHardState) {
      // A crash tore off the hard state this segment opened with: without one, compacting the
      // older segments away would lose it.
      this.write([frame(hardStatePayload(this.hard))]);
    }
    if (conflict) {
      // Finish the install a crash cut short, so that appends after the snapshot replay as ours.
      this.recovery.supersededEntries = superseded;
      this.recovery.droppedSegments += this.restartLog();
    }
    this.sync();
  }

  private openCurrent(lastIntact: number): void {
    if (this.segments.length === 0) {
      const file = this.segmentFile(1);
      this.handle = this.disk.openTruncate(file);
      this.segments.push({ seq: 1, file, maxIndex: 0 });
      this.dirDirty = true;
      this.write([frame(hardStatePayload(this.hard))]);
      return;
    }
    this.handle = this.disk.openAppend(this.current().file);
    this.size = this.disk.size(this.handle);
    if (this.size > lastIntact) {
      // A write cut short by a crash: cut it off (durably, at the sync that ends opening), so new
      // records follow intact ones.
      this.recovery.truncatedBytes = this.size - lastIntact;
      this.disk.truncateHandle(this.handle, lastIntact);
      this.size = lastIntact;
      this.dirty = true;
    }
  }

  // ---- snapshot file -------------------------------------------------------------------------

  private discardTemp(): void {
    const tmp = path.join(this.dir, SNAPSHOT_TEMP);
    if (this.disk.exists(tmp)) {
      this.disk.remove(tmp);
      this.recovery.discardedTempSnapshot = true;
    }
  }

  private loadSnapshot(): Snapshot | undefined {
    const file = path.join(this.dir, SNAPSHOT_FILE);
    if (!this.disk.exists(file)) return undefined;
    const buf = this.disk.readFile(file);
    let snap: Snapshot | undefined;
    const good = scanRecords(buf, (p) => {
      snap = decodeSnapshot(p);
      return snap !== undefined;
    });
    // Written atomically, so a bad file means the disk lies: refuse to guess.
    if (!snap || good !== buf.length) throw new StorageFailedError(`file storage: snapshot ${file} is corrupt`);
    return snap;
  }

  /** Temp file, fsync, rename, fsync the directory. A plain error means nothing changed. */
  private writeSnapshot(snap: Snapshot): void {
    const payload = snapshotPayload(snap);
    if (payload.length > MAX_RECORD_BYTES) {
      throw new Error(`file storage: a snapshot of ${payload.length} bytes is more than the reader accepts (${MAX_RECORD_BYTES})`);
    }
    const tmp = path.join(this.dir, SNAPSHOT_TEMP);
    const h = this.disk.openTruncate(tmp);
    try {
      this.disk.write(h, frame(payload));
    } catch (e) {
      closeQuietly(this.disk, h);
      throw e; // the temp file is discarded on open
    }
    try {
      this.disk.fsync(h);
    } catch (e) {
      closeQuietly(this.disk, h);
      this.fail(`fsync of ${tmp} failed (${reason(e)})`);
    }
    this.disk.close(h);
    this.disk.rename(tmp, path.join(this.dir, SNAPSHOT_FILE));
    try {
      this.disk.fsyncDir(this.dir);
    } catch (e) {
      this.fail(`fsync of directory ${this.dir} failed (${reason(e)})`);
    }
  }
}

function emptySnapshot(conf: ConfState): Snapshot {
  return { meta: { index: 0, term: 0, conf: copyConf(conf) }, data: new Uint8Array(0) };
}

function cloneSnapshot(s: Snapshot): Snapshot {
  return { meta: { ...s.meta, conf: copyConf(s.meta.conf) }, data: s.data };
}

function closeQuietly(disk: Disk, h: FileHandle): void {
  try {
    disk.close(h);
  } catch {
    /* only called where nothing unsynced is at stake */
  }
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
