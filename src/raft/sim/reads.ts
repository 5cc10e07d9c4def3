/**
 * Reads checked for linearizability. The client's reads are recorded as [start, end, index seen]
 * (index seen: the applied index of the state the read was answered from). A read is stale, and
 * the history not linearizable, when its index is below the index of a write that was
 * acknowledged before the read started: that write had already taken effect for some client,
 * yet the read missed it.
 *
 * Two kinds of read:
 * - read-index (RaftDriver.readIndex / RawNode.readIndex): the leader confirms it still leads
 *   with a heartbeat round, and the read waits until that index is applied;
 * - lease: a leader that believes its quorum lease answers from its applied state at once, with
 *   no round trip. Such a read is also wrong when a node had already been elected in a later term
 *   when it was served: the lease is exactly the promise that this cannot happen.
 */
import type { NodeId } from '../types.js';

export type ReadKind = 'index' | 'lease';

export interface ReadRecord {
  kind: ReadKind;
  node: NodeId;
  start: number;
  end: number;
  /** Index of the state read (at least the read point; for a lease read, the applied index). */
  index: number;
  /** Highest index acknowledged to any client before the read started. */
  floor: number;
}

export interface ReadStats {
  issued: number;
  answered: number;
  /** Refused: not the leader, no lease, stepped down or died before answering. */
  refused: number;
  byKind: Record<ReadKind, number>;
}

export class ReadChecker {
  /** Highest acknowledged write index so far (acks arrive in time order). */
  private acked = 0;
  readonly history: ReadRecord[] = [];
  readonly stats: ReadStats = { issued: 0, answered: 0, refused: 0, byKind: { index: 0, lease: 0 } };

  constructor(private readonly fail: (property: string, detail: string) => void) {}

  /** A write was acknowledged to its client at `index`. */
  onAck(index: number): void {
    if (index > this.acked) this.acked = index;
  }

  /** A read starts now; returns what it must see (pass it to `onAnswer`). */
  onStart(): number {
    this.stats.issued++;
    return this.acked;
  }

  onRefused(): void {
    this.stats.refused++;
  }

  /**
   * A read was answered. `supersededBy` is, for a lease read, the highest term in which a leader
   * had been elected when it was served, if above the reader's term.
   */
  onAnswer(r: ReadRecord, reader?: { term: number; newestLeaderTerm: number }): void {
    this.stats.answered++;
    this.stats.byKind[r.kind]++;
    this.history.push(r);
    const when = `${(r.start / 1000).toFixed(3)}s–${(r.end / 1000).toFixed(3)}s`;
    if (r.index < r.floor) {
      this.fail('linearizability', `${r.kind} read on n${r.node} (${when}) saw index ${r.index}, but index ${r.floor} was acknowledged before it started`);
    }
    if (reader && reader.newestLeaderTerm > reader.term) {
      this.fail('lease', `lease read on n${r.node} (leader of term ${reader.term}) at ${when} after a leader of term ${reader.newestLeaderTerm} was elected`);
    }
  }
}
