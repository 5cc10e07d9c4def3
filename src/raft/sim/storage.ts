/**
 * Simulated stable storage that models fsync. Every write is a record appended to a write-ahead
 * log; `sync()` marks every record so far as durable. A crash keeps only the durable records:
 * `durableImage()` rebuilds a storage from them, exactly what a restarted process would read.
 */
import {
  CompactedError,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type WritableLogStorage,
} from '../types.js';

type WalRecord =
  | { op: 'entries'; entries: Entry[] }
  | { op: 'hard_state'; hs: HardState }
  | { op: 'snapshot'; snap: Snapshot }
  | { op: 'compact'; index: number; data: Uint8Array; conf: ConfState }
  | { op: 'image'; snap: Snapshot; entries: Entry[]; hs: HardState };

/** Past this many durable records the log is folded into one image record (keeps replay cheap). */
const FOLD_AFTER = 256;

export class SimStorage implements WritableLogStorage {
  private snap: Snapshot;
  /** ents[0] is a placeholder standing for the snapshot's index and term. */
  private ents: Entry[];
  private hs: HardState = { term: 0, vote: 0, commit: 0 };
  private wal: WalRecord[] = [];
  private synced = 0;
  /** Count of sync() calls, for tests and traces. */
  syncs = 0;

  /** A fresh node's storage: an empty log whose bootstrap snapshot holds the initial membership. */
  constructor(conf: ConfState) {
    this.snap = { meta: { index: 0, term: 0, conf: copyConf(conf) }, data: new Uint8Array(0) };
    this.ents = [placeholder(0, 0)];
    this.record({ op: 'snapshot', snap: this.snap });
    this.sync();
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hs }, confState: copyConf(this.snap.meta.conf) };
  }

  entries(lo: number, hi: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new Error(`entries [${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    return this.ents.slice(lo - offset, hi - offset);
  }

  term(i: number): number {
    const offset = this.ents[0].index;
    if (i < offset) throw new CompactedError(i);
    if (i > this.lastIndex()) throw new Error(`term of ${i} beyond last index ${this.lastIndex()}`);
    return this.ents[i - offset].term;
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  hardState(): HardState {
    return { ...this.hs };
  }

  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    this.record({ op: 'entries', entries: entries.slice() });
    this.doAppend(entries);
  }

  setHardState(hs: HardState): void {
    this.record({ op: 'hard_state', hs: { ...hs } });
    this.hs = { ...hs };
  }

  applySnapshot(snap: Snapshot): void {
    this.record({ op: 'snapshot', snap });
    this.doApplySnapshot(snap);
  }

  compact(index: number, snapshotData: Uint8Array, conf: ConfState): void {
    this.record({ op: 'compact', index, data: snapshotData, conf: copyConf(conf) });
    this.doCompact(index, snapshotData, conf);
  }

  sync(): void {
    this.synced = this.wal.length;
    this.syncs++;
    if (this.wal.length > FOLD_AFTER) {
      this.wal = [{ op: 'image', snap: this.snap, entries: this.ents.slice(1), hs: { ...this.hs } }];
      this.synced = 1;
    }
  }

  /** Records written but not yet made durable by sync(). */
  unsyncedRecords(): number {
    return this.wal.length - this.synced;
  }

  /** What survives a crash: a new storage rebuilt from the durable records only. */
  durableImage(): SimStorage {
    const copy = new SimStorage({ voters: [], learners: [] });
    copy.wal = [];
    copy.synced = 0;
    for (const rec of this.wal.slice(0, this.synced)) copy.replay(rec);
    copy.sync();
    return copy;
  }

  private replay(rec: WalRecord): void {
    this.wal.push(rec);
    switch (rec.op) {
      case 'entries':
        this.doAppend(rec.entries);
        return;
      case 'hard_state':
        this.hs = { ...rec.hs };
        return;
      case 'snapshot':
        this.doApplySnapshot(rec.snap);
        return;
      case 'compact':
        this.doCompact(rec.index, rec.data, rec.conf);
        return;
      case 'image':
        this.snap = rec.snap;
        this.ents = [placeholder(rec.snap.meta.index, rec.snap.meta.term), ...rec.entries];
        this.hs = { ...rec.hs };
        return;
    }
  }

  private record(rec: WalRecord): void {
    this.wal.push(rec);
  }

  private doAppend(entries: Entry[]): void {
    const offset = this.ents[0].index;
    let first = entries[0].index;
    let from = 0;
    // Entries already folded into the snapshot are skipped, as a real log would.
    if (first <= offset) {
      from = offset + 1 - first;
      if (from >= entries.length) return;
      first = offset + 1;
    }
    if (first > this.lastIndex() + 1) {
      throw new Error(`append at ${first} leaves a gap after last index ${this.lastIndex()}`);
    }
    this.ents.length = first - offset;
    for (let i = from; i < entries.length; i++) this.ents.push(entries[i]);
  }

  private doApplySnapshot(snap: Snapshot): void {
    if (snap.meta.index < this.snap.meta.index) return;
    this.snap = snap;
    this.ents = [placeholder(snap.meta.index, snap.meta.term)];
  }

  private doCompact(index: number, data: Uint8Array, conf: ConfState): void {
    const offset = this.ents[0].index;
    if (index <= offset) return;
    if (index > this.lastIndex()) throw new Error(`compact at ${index} beyond last index ${this.lastIndex()}`);
    const term = this.ents[index - offset].term;
    this.snap = { meta: { index, term, conf: copyConf(conf) }, data };
    this.ents = [placeholder(index, term), ...this.ents.slice(index - offset + 1)];
  }
}

function placeholder(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(0) };
}

function copyConf(c: ConfState): ConfState {
  const out: ConfState = { voters: [...c.voters], learners: [...c.learners] };
  if (c.removed) out.removed = [...c.removed];
  return out;
}
