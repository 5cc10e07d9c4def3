/**
 * A storage seen by the checker: every append (with the term of the entry before it) and every
 * hard state passes by on its way to the real storage. Whoever drives the core (the simulator's
 * loop or the production RaftDriver), the checker sees exactly what reached the storage. A write
 * that throws is not reported: the storage refused it.
 */
import type { ConfState, Entry, HardState, NodeId, Snapshot } from '../types.js';
import type { SafetyChecker } from './checker.js';
import type { HostEvents } from './host.js';
import type { HostStorage } from './store.js';

export interface StorageWatch {
  /** `prevTerm`: the term of the entry just before `entries`, or -1 when it is not known. */
  append(entries: readonly Entry[], prevTerm: number): void;
  hardState(hs: HardState): void;
}

/**
 * What every host reports of its storage: appends to the checker, and each hard state's term
 * (and, when it votes for itself, a campaign) to the cluster; `term` is the host's own record.
 */
export function checkerWatch(id: NodeId, checker: SafetyChecker, events: HostEvents, term: { value: number }): StorageWatch {
  return {
    append: (entries, prevTerm) => checker.onPersist(id, entries, prevTerm),
    hardState: (hs) => {
      events.termSeen(hs.term);
      if (hs.term > term.value && hs.vote === id) events.campaigned(id, hs.term);
      term.value = Math.max(term.value, hs.term);
    },
  };
}

export class ObservedStorage implements HostStorage {
  constructor(
    readonly inner: HostStorage,
    private readonly watch: StorageWatch,
  ) {}

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.inner.initialState();
  }

  entries(lo: number, hi: number): Entry[] {
    return this.inner.entries(lo, hi);
  }

  term(i: number): number {
    return this.inner.term(i);
  }

  firstIndex(): number {
    return this.inner.firstIndex();
  }

  lastIndex(): number {
    return this.inner.lastIndex();
  }

  snapshot(): Snapshot {
    return this.inner.snapshot();
  }

  hardState(): HardState {
    return this.inner.hardState();
  }

  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const before = entries[0].index - 1;
    const known = before >= this.inner.firstIndex() - 1 && before <= this.inner.lastIndex();
    const prevTerm = known ? this.inner.term(before) : -1;
    this.inner.append(entries);
    this.watch.append(entries, prevTerm);
  }

  setHardState(hs: HardState): void {
    this.inner.setHardState(hs);
    this.watch.hardState(hs);
  }

  applySnapshot(snap: Snapshot): void {
    this.inner.applySnapshot(snap);
  }

  compact(index: number, snapshotData: Uint8Array, conf: ConfState): void {
    this.inner.compact(index, snapshotData, conf);
  }

  sync(): void {
    this.inner.sync();
  }
}
