/**
 * The raft log as the core sees it: the stable part (in LogStorage, already persisted) followed by
 * the unstable tail (appended or received, not yet handed to the driver for persistence), plus the
 * committed and applied indices. Terms of unavailable indices are `undefined`, never thrown.
 */
import type { Entry, LogStorage, Snapshot } from './types.js';

export interface IndexTerm {
  index: number;
  term: number;
}

export class RaftLog {
  committed: number;
  applied: number;
  /** A snapshot received from the leader and not yet persisted. */
  unstableSnapshot: Snapshot | undefined;
  /** Entries not yet persisted; unstableEntries[k] has index unstableOffset + k. */
  unstableEntries: Entry[] = [];
  unstableOffset: number;

  constructor(readonly storage: LogStorage) {
    this.unstableOffset = storage.lastIndex() + 1;
    this.committed = storage.firstIndex() - 1;
    this.applied = this.committed;
  }

  firstIndex(): number {
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    const n = this.unstableEntries.length;
    if (n > 0) return this.unstableOffset + n - 1;
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index;
    return this.storage.lastIndex();
  }

  /** Term of entry i, or undefined when i is compacted away or beyond the end. */
  term(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    if (i >= this.unstableOffset) return this.unstableEntries[i - this.unstableOffset].term;
    const snap = this.unstableSnapshot;
    if (snap && i === snap.meta.index) return snap.meta.term;
    try {
      return this.storage.term(i);
    } catch {
      return undefined;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Whether a log ending at (index, term) is at least as up to date as ours (§5.4.1). */
  isUpToDate(index: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && index >= this.lastIndex());
  }

  /** Index of the first entry of `ents` that is missing or conflicts with ours; 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * The last index at or below `index` whose term is at most `term`: everything above it cannot
   * match a log whose entry at `index` has `term`, so a whole term is skipped per round trip.
   */
  findConflictByTerm(index: number, term: number): IndexTerm {
    for (let i = Math.min(index, this.lastIndex()); ; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
  }

  /**
   * Follower side of an append: if our entry at `index` has `logTerm`, merge `ents` after it,
   * move commit and return the index of the last new entry; otherwise undefined.
   */
  maybeAppend(index: number, logTerm: number, commit: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`raft log: entry ${conflict} conflicts with committed entry (commit ${this.committed})`);
      }
      this.append(ents.slice(conflict - index - 1));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Append to the unstable tail, truncating whatever follows ents[0].index - 1. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index;
    if (after - 1 < this.committed) {
      throw new Error(`raft log: append at ${after} would overwrite committed ${this.committed}`);
    }
    const end = this.unstableOffset + this.unstableEntries.length;
    if (after === end) {
      for (const e of ents) this.unstableEntries.push(e);
    } else if (after <= this.unstableOffset) {
      // Replaces part of the stable log too: storage truncates it when these are persisted.
      this.unstableOffset = after;
      this.unstableEntries = ents.slice();
    } else {
      this.unstableEntries = this.unstableEntries.slice(0, after - this.unstableOffset).concat(ents);
    }
    return this.lastIndex();
  }

  /**
   * Entries in [lo, hi), at most `maxCount` of them and, beyond the first, at most `maxBytes` of
   * data; undefined if lo is compacted away.
   */
  slice(lo: number, hi: number, maxCount = Infinity, maxBytes = Infinity): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    hi = Math.min(hi, this.lastIndex() + 1, lo + maxCount);
    if (lo >= hi) return [];
    const off = this.unstableOffset;
    let out: Entry[] = [];
    if (lo < off) {
      try {
        out = this.storage.entries(lo, Math.min(hi, off));
      } catch {
        return undefined;
      }
    }
    for (let i = Math.max(lo, off); i < hi; i++) out.push(this.unstableEntries[i - off]);
    return maxBytes === Infinity ? out : withinBytes(out, maxBytes);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`raft log: commit ${index} is beyond last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Leader side: commit `index` only if its entry is of `term` (the Figure 8 rule). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  hasNextCommitted(): boolean {
    return Math.max(this.applied + 1, this.firstIndex()) <= this.committed;
  }

  /** The next committed entries to apply: a page of at most `maxBytes` (always at least one). */
  nextCommitted(maxBytes = Infinity): Entry[] {
    if (!this.hasNextCommitted()) return [];
    return this.slice(Math.max(this.applied + 1, this.firstIndex()), this.committed + 1, Infinity, maxBytes) ?? [];
  }

  /** Bytes of entry data in [lo, hi); undefined when part of it is compacted away. */
  bytesIn(lo: number, hi: number): number | undefined {
    const ents = this.slice(lo, hi);
    return ents === undefined ? undefined : ents.reduce((n, e) => n + e.data.length, 0);
  }

  /** The driver persisted everything up to (index, term): drop it from the unstable tail. */
  stableTo(index: number, term: number): void {
    if (index < this.unstableOffset) return;
    const k = index - this.unstableOffset;
    // A later append may have replaced what was persisted; then it is still unstable.
    if (k >= this.unstableEntries.length || this.unstableEntries[k].term !== term) return;
    this.unstableEntries = this.unstableEntries.slice(k + 1);
    this.unstableOffset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.unstableSnapshot && this.unstableSnapshot.meta.index === index) this.unstableSnapshot = undefined;
  }

  /** Replace the whole log by a snapshot from the leader. */
  restore(snap: Snapshot): void {
    this.committed = snap.meta.index;
    this.unstableSnapshot = snap;
    this.unstableEntries = [];
    this.unstableOffset = snap.meta.index + 1;
  }

  snapshot(): Snapshot {
    return this.unstableSnapshot ?? this.storage.snapshot();
  }
}

/** The longest prefix of `ents` within `maxBytes` of data, but never empty: one entry always goes. */
function withinBytes(ents: Entry[], maxBytes: number): Entry[] {
  let bytes = 0;
  for (let k = 0; k < ents.length; k++) {
    bytes += ents[k].data.length;
    if (bytes > maxBytes && k > 0) return ents.slice(0, k);
  }
  return ents;
}
