/**
 * Log storage on disk, under one directory (KICI_DATA_DIR/raft in production):
 * - `NNNNNNNNNNNNNNNN.log` segments, append-only, every record framed with length + CRC-32;
 *   entries and hard states share them, so one fsync makes a whole Ready batch durable;
 * - `snapshot.bin`, replaced atomically (write temp, fsync, rename, fsync the directory).
 * A later entry at index i supersedes everything from i on (that is how conflicting suffixes are
 * truncated in an append-only file). On open, a torn or corrupt tail is cut off, never fatal.
 * The whole live log is also kept in memory: it holds cluster metadata only and is compacted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyConf } from './membership.js';
import {
  KIND_ENTRY,
  KIND_HARD_STATE,
  KIND_RESET,
  decodeLogRecord,
  entryPayload,
  frame,
  hardStatePayload,
  resetPayload,
  scanRecords,
} from './record.js';
import { CompactedError, type ConfState, type Entry, type HardState, type Snapshot, type WritableLogStorage } from './types.js';

export interface FileStorageOptions {
  /** Membership of a brand-new node; ignored once the directory holds a snapshot. */
  conf?: ConfState;
  /** Start a new segment once the current one reaches this size. Default 8 MiB. */
  segmentBytes?: number;
}

/** What opening the directory had to repair. */
export interface Recovery {
  truncatedBytes: number;
  droppedSegments: number;
  discardedTempSnapshot: boolean;
}

interface Segment {
  seq: number;
  file: string;
  /** Highest entry index written to it (0: none). */
  maxIndex: number;
}

const LOCK_FILE = 'lock';
const SNAPSHOT_FILE = 'snapshot.bin';
const SNAPSHOT_TEMP = 'snapshot.bin.tmp';
const SEGMENT_RE = /^(\d{16})\.log$/;

export class FileStorage implements WritableLogStorage {
  readonly recovery: Recovery = { truncatedBytes: 0, droppedSegments: 0, discardedTempSnapshot: false };
  private readonly dir: string;
  private readonly segmentBytes: number;
  private snap: Snapshot;
  private hard: HardState = { term: 0, vote: 0, commit: 0 };
  /** ents[k] has index snap.meta.index + 1 + k. */
  private ents: Entry[] = [];
  private segments: Segment[] = [];
  private fd = -1;
  private size = 0;
  private dirty = false;
  private dirDirty = false;
  /** During replay: false while the log being read disagrees with the snapshot at its index. */
  private followsSnapshot = true;

  constructor(dir: string, opts: FileStorageOptions = {}) {
    this.dir = dir;
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 * 1024;
    fs.mkdirSync(dir, { recursive: true });
    takeLock(dir);
    this.discardTemp();
    const loaded = this.loadSnapshot();
    this.snap = loaded ?? emptySnapshot(opts.conf ?? { voters: [], learners: [] });
    if (!loaded) this.writeSnapshot(this.snap);
    this.replaySegments();
    this.openCurrent();
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
    if (entries.length === 0) return;
    const s = this.snap.meta.index;
    const first = entries[0].index;
    if (first > this.lastIndex() + 1) throw new Error(`file storage: gap before index ${first} (last ${this.lastIndex()})`);
    const skip = Math.max(0, s + 1 - first); // already inside the snapshot
    if (skip >= entries.length) return;
    const fresh = skip === 0 ? entries : entries.slice(skip);
    this.write(fresh.map((e) => frame(entryPayload(e))));
    this.ents.length = fresh[0].index - s - 1;
    for (const e of fresh) this.ents.push(e);
    this.current().maxIndex = Math.max(this.current().maxIndex, fresh[fresh.length - 1].index);
    this.maybeRotate();
  }

  setHardState(hs: HardState): void {
    this.hard = { ...hs };
    this.write([frame(hardStatePayload(hs))]);
    this.maybeRotate();
  }

  sync(): void {
    if (this.dirty) {
      fs.fsyncSync(this.fd);
      this.dirty = false;
    }
    if (this.dirDirty) {
      fsyncDir(this.dir);
      this.dirDirty = false;
    }
  }

  /** A snapshot from the leader replaces the whole log. */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.snap.meta.index) return;
    this.writeSnapshot(snap);
    this.snap = cloneSnapshot(snap);
    this.ents = [];
    // Mark the restart in a fresh segment, then older segments can go.
    this.rotate();
    this.write([frame(resetPayload(snap.meta.index)), frame(hardStatePayload(this.hard))]);
    this.sync();
    this.dropSegmentsUpTo(Infinity);
  }

  compact(index: number, snapshotData: Uint8Array, conf: ConfState): void {
    const s = this.snap.meta.index;
    if (index <= s) return;
    if (index > this.lastIndex()) throw new Error(`file storage: compact ${index} beyond last index ${this.lastIndex()}`);
    const snap: Snapshot = { meta: { index, term: this.term(index), conf: copyConf(conf) }, data: snapshotData };
    this.sync(); // entries up to index must be durable before the snapshot claims them
    this.writeSnapshot(snap);
    this.ents = this.ents.slice(index - s);
    this.snap = snap;
    this.dropSegmentsUpTo(index);
  }

  close(): void {
    if (this.fd < 0) return;
    this.sync();
    fs.closeSync(this.fd);
    this.fd = -1;
    fs.rmSync(path.join(this.dir, LOCK_FILE), { force: true });
  }

  // ---- segments ------------------------------------------------------------------------------

  private current(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private write(bufs: Buffer[]): void {
    const buf = bufs.length === 1 ? bufs[0] : Buffer.concat(bufs);
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    this.size += buf.length;
    this.dirty = true;
  }

  private maybeRotate(): void {
    if (this.size >= this.segmentBytes) this.rotate();
  }

  /** Close the current segment and start the next; it opens with the hard state so old ones can go. */
  private rotate(): void {
    this.sync();
    fs.closeSync(this.fd);
    const seq = this.current().seq + 1;
    this.startSegment(seq);
    this.write([frame(hardStatePayload(this.hard))]);
  }

  private startSegment(seq: number): void {
    const file = path.join(this.dir, `${String(seq).padStart(16, '0')}.log`);
    this.fd = fs.openSync(file, 'a');
    this.size = fs.fstatSync(this.fd).size;
    this.segments.push({ seq, file, maxIndex: 0 });
    this.dirDirty = true;
  }

  /** Delete closed segments whose entries are all covered by the snapshot at `index`. */
  private dropSegmentsUpTo(index: number): void {
    const keep: Segment[] = [];
    const last = this.segments.length - 1;
    this.segments.forEach((seg, k) => {
      if (k < last && seg.maxIndex <= index) {
        fs.rmSync(seg.file, { force: true });
        this.dirDirty = true;
      } else keep.push(seg);
    });
    this.segments = keep;
    this.sync();
  }

  private openCurrent(): void {
    if (this.segments.length === 0) {
      this.startSegment(1);
      this.write([frame(hardStatePayload(this.hard))]);
      this.sync();
      return;
    }
    const seg = this.segments.pop()!;
    this.startSegment(seg.seq);
    this.current().maxIndex = seg.maxIndex;
    this.dirDirty = false;
  }

  // ---- recovery ------------------------------------------------------------------------------

  private replaySegments(): void {
    const names = fs
      .readdirSync(this.dir)
      .filter((n) => SEGMENT_RE.test(n))
      .sort();
    for (let k = 0; k < names.length; k++) {
      const file = path.join(this.dir, names[k]);
      const seg: Segment = { seq: Number(SEGMENT_RE.exec(names[k])![1]), file, maxIndex: 0 };
      const buf = fs.readFileSync(file);
      const good = scanRecords(buf, (p) => this.replayRecord(p, seg));
      this.segments.push(seg);
      if (good === buf.length) continue;
      // A torn or corrupt record: keep what precedes it, drop it and everything logged after it.
      this.recovery.truncatedBytes += buf.length - good;
      fs.truncateSync(file, good);
      for (const later of names.slice(k + 1)) {
        this.recovery.truncatedBytes += fs.statSync(path.join(this.dir, later)).size;
        fs.rmSync(path.join(this.dir, later), { force: true });
        this.recovery.droppedSegments++;
      }
      fsyncDir(this.dir);
      break;
    }
  }

  /** Apply one record to the in-memory state; false marks it as corrupt (stop there). */
  private replayRecord(p: Buffer, seg: Segment): boolean {
    if (p.length < 1) return false;
    const rec = decodeLogRecord(p);
    if (!rec) return false;
    const s = this.snap.meta.index;
    switch (rec.kind) {
      case KIND_HARD_STATE:
        this.hard = rec.hardState;
        return true;
      case KIND_RESET:
        this.ents = [];
        this.followsSnapshot = true;
        return true;
      case KIND_ENTRY: {
        const e = rec.entry;
        seg.maxIndex = Math.max(seg.maxIndex, e.index);
        if (e.index <= s) {
          // A log (from before a crash mid-install) that disagrees with the snapshot is not ours.
          if (e.index === s) this.followsSnapshot = e.term === this.snap.meta.term;
          if (!this.followsSnapshot) this.ents = [];
          return true;
        }
        if (!this.followsSnapshot) return true;
        if (e.index > s + this.ents.length + 1) return false; // a hole: not our log any more
        this.ents.length = e.index - s - 1;
        this.ents.push(e);
        return true;
      }
    }
    return false;
  }

  // ---- snapshot file -------------------------------------------------------------------------

  private discardTemp(): void {
    const tmp = path.join(this.dir, SNAPSHOT_TEMP);
    if (fs.existsSync(tmp)) {
      fs.rmSync(tmp, { force: true });
      this.recovery.discardedTempSnapshot = true;
    }
  }

  private loadSnapshot(): Snapshot | undefined {
    const file = path.join(this.dir, SNAPSHOT_FILE);
    if (!fs.existsSync(file)) return undefined;
    const buf = fs.readFileSync(file);
    let snap: Snapshot | undefined;
    const good = scanRecords(buf, (p) => {
      snap = decodeSnapshot(p);
      return snap !== undefined;
    });
    // Written atomically, so a bad file means the disk lies: refuse to guess.
    if (!snap || good !== buf.length) throw new Error(`file storage: snapshot ${file} is corrupt`);
    return snap;
  }

  private writeSnapshot(snap: Snapshot): void {
    const tmp = path.join(this.dir, SNAPSHOT_TEMP);
    const fd = fs.openSync(tmp, 'w');
    try {
      const buf = frame(encodeSnapshot(snap));
      let off = 0;
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(this.dir, SNAPSHOT_FILE));
    fsyncDir(this.dir);
  }
}

function encodeSnapshot(snap: Snapshot): Uint8Array {
  const conf = Buffer.from(JSON.stringify(copyConf(snap.meta.conf)), 'utf8');
  const b = Buffer.allocUnsafe(20 + conf.length + snap.data.length);
  b.writeDoubleLE(snap.meta.index, 0);
  b.writeDoubleLE(snap.meta.term, 8);
  b.writeUInt32LE(conf.length, 16);
  b.set(conf, 20);
  b.set(snap.data, 20 + conf.length);
  return b;
}

function decodeSnapshot(p: Buffer): Snapshot | undefined {
  if (p.length < 20) return undefined;
  const confLen = p.readUInt32LE(16);
  if (20 + confLen > p.length) return undefined;
  try {
    const conf = JSON.parse(p.subarray(20, 20 + confLen).toString('utf8')) as ConfState;
    if (!Array.isArray(conf.voters) || !Array.isArray(conf.learners)) return undefined;
    return {
      meta: { index: p.readDoubleLE(0), term: p.readDoubleLE(8), conf },
      data: new Uint8Array(p.subarray(20 + confLen)),
    };
  } catch {
    return undefined;
  }
}

function emptySnapshot(conf: ConfState): Snapshot {
  return { meta: { index: 0, term: 0, conf: copyConf(conf) }, data: new Uint8Array(0) };
}

function cloneSnapshot(s: Snapshot): Snapshot {
  return { meta: { ...s.meta, conf: copyConf(s.meta.conf) }, data: s.data };
}

/**
 * Two processes appending to one log would interleave records: refuse to open a directory that a
 * live process holds. A lock left by a dead process (a crash) is taken over.
 */
function takeLock(dir: string): void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number(fs.readFileSync(file, 'utf8').trim());
    if (holder !== process.pid && processAlive(holder)) {
      throw new Error(`file storage: ${dir} is in use by process ${holder}`);
    }
    fs.rmSync(file, { force: true });
  }
  throw new Error(`file storage: cannot lock ${dir}`);
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fsyncDir(dir: string): void {
  // Makes renames, creations and deletions in `dir` durable; not every platform allows it.
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* best effort where directories cannot be opened */
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}
