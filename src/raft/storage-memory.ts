/**
 * Log storage in memory: for tests and the simulator. Everything "written" is immediately
 * "durable", so sync() has nothing to do. ents[0] is a placeholder standing for the snapshot
 * (its index and term), so term lookups at the snapshot boundary need no special case.
 */
import { CompactedError, type ConfState, type Entry, type HardState, type Snapshot, type WritableLogStorage } from './types.js';
import { copyConf } from './membership.js';

export class MemoryStorage implements WritableLogStorage {
  private hard: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot;
  private ents: Entry[];

  /** `conf` is the initial membership of a new cluster (or of a node about to join one). */
  constructor(conf: ConfState = { voters: [], learners: [] }) {
    this.snap = { meta: { index: 0, term: 0, conf: copyConf(conf) }, data: new Uint8Array(0) };
    this.ents = [placeholder(0, 0)];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hard }, confState: copyConf(this.snap.meta.conf) };
  }

  /** The hard state as last written (for tests and the simulator's crash model). */
  hardState(): HardState {
    return { ...this.hard };
  }

  private offset(): number {
    return this.ents[0].index;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(i: number): number {
    const off = this.offset();
    if (i < off) throw new CompactedError(i);
    if (i > this.lastIndex()) throw new Error(`memory storage: index ${i} is beyond last index ${this.lastIndex()}`);
    return this.ents[i - off].term;
  }

  entries(lo: number, hi: number): Entry[] {
    const off = this.offset();
    if (lo <= off) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new Error(`memory storage: entries up to ${hi - 1} not available`);
    return this.ents.slice(lo - off, hi - off);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    const off = this.offset();
    if (first > this.lastIndex() + 1) {
      throw new Error(`memory storage: gap before index ${first} (last ${this.lastIndex()})`);
    }
    // Entries already compacted into the snapshot are committed and identical: skip them.
    const skip = Math.max(0, off + 1 - first);
    if (skip >= entries.length) return;
    const start = first + skip;
    this.ents.length = start - off; // truncate a conflicting suffix, if any
    for (let k = skip; k < entries.length; k++) this.ents.push(entries[k]);
  }

  setHardState(hs: HardState): void {
    this.hard = { ...hs };
  }

  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index < this.snap.meta.index) return; // older than what we have
    this.snap = { meta: { ...snap.meta, conf: copyConf(snap.meta.conf) }, data: snap.data };
    this.ents = [placeholder(snap.meta.index, snap.meta.term)];
  }

  compact(index: number, snapshotData: Uint8Array, conf: ConfState): void {
    const off = this.offset();
    if (index <= off) return;
    if (index > this.lastIndex()) throw new Error(`memory storage: compact ${index} beyond last index ${this.lastIndex()}`);
    const term = this.ents[index - off].term;
    this.snap = { meta: { index, term, conf: copyConf(conf) }, data: snapshotData };
    const rest = this.ents.slice(index - off + 1);
    this.ents = [placeholder(index, term), ...rest];
  }

  sync(): void {
    // Memory is as durable as it gets here.
  }
}

function placeholder(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(0) };
}
