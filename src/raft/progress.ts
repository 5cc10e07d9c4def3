/**
 * What the leader knows about one follower's log, and how it paces appends to it:
 * - probe: we do not know where its log ends; send one append at a time and wait for the answer;
 * - replicate: it is keeping up; stream appends optimistically, capped by the in-flight window;
 * - snapshot: it needs a snapshot; send nothing else until it answers (or the snapshot times out).
 */
import { Inflights } from './inflights.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is out and we wait for its answer before sending another. */
  probeSent = false;
  /** In snapshot state: index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Ticks spent waiting in snapshot state (a lost snapshot must not stall the follower forever). */
  snapshotElapsed = 0;
  /** Leader tick at which we last heard from this node (check-quorum and lease). */
  lastHeard = 0;
  /**
   * Leader tick at which we *sent* the latest heartbeat this node answered: the node promised not
   * to vote for anyone else for an election timeout from when it received it, which is later.
   */
  leaseFrom = -Infinity;
  /** The highest commit index this node told us it knows (heartbeat answers carry it). */
  commit = 0;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotElapsed = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it (or after match if that is further).
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to `n`. Returns false when it tells us nothing new (stale or duplicate). */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Account for an append carrying entries up to `lastIndex` (0 entries: lastIndex = next - 1). */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected the append after `rejected`; `hint` is the highest index that may still
   * match. Returns false when the rejection is stale (answers an older append).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
